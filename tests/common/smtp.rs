//! A real SMTP server for tests: starts `python3 tests/smtp/server.py` (aiosmtpd) on 127.0.0.1,
//! waits for its port, reads what it received, and kills it when dropped. Reusable by any test
//! binary with `#[path = "common/smtp.rs"] mod smtp;`.
//!
//! It does not skip: when python3 or aiosmtpd is missing the test fails and says to run
//! `.ci/smtp-setup.sh`. Set `IOC_TRACKER_TEST_PYTHON` to use another interpreter.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ioc_tracker::config::{EmailSettings, Secret, Settings, SmtpAuth, SmtpSecurity};

/// How the server listens and what it accepts.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    pub security: Security,
    /// AUTH required with this user and password (PLAIN/LOGIN) or token (XOAUTH2)
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    /// offered AUTH mechanisms ("PLAIN", "LOGIN", "XOAUTH2"); empty = all three
    pub mechanisms: Vec<&'static str>,
    /// answer 451 to the first N MAIL commands (or DATA with `tempfail_at_data`)
    pub tempfail: u32,
    pub tempfail_at_data: bool,
    /// close the connection without answering on the first N MAIL commands
    pub drop: u32,
    /// answer 554 to every MAIL command
    pub reject: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Security {
    #[default]
    None,
    Starttls,
    Tls,
}

/// A running test server. Killed on drop.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub options: ServerOptions,
    maildir: tempfile::TempDir,
}

/// One message the server stored.
#[derive(Debug, Clone)]
pub struct Received {
    pub raw: Vec<u8>,
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub auth_mechanism: Option<String>,
    pub login: Option<String>,
    pub tls: bool,
}

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The test-only CA that signed the server certificate (localhost, 127.0.0.1).
pub fn ca_file() -> PathBuf {
    repo_dir().join("tests/smtp/certs/ca.pem")
}

fn python() -> String {
    std::env::var("IOC_TRACKER_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Fail (not skip) with the fix when aiosmtpd cannot be imported.
pub fn require_aiosmtpd() {
    let py = python();
    let out = Command::new(&py)
        .args(["-c", "import aiosmtpd"])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {py} for the SMTP test server ({e}): run .ci/smtp-setup.sh (installs python3 and aiosmtpd)")
        });
    assert!(
        out.status.success(),
        "{py} cannot import aiosmtpd, which the SMTP tests need: run .ci/smtp-setup.sh (pip install aiosmtpd)\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl SmtpServer {
    pub fn start(options: ServerOptions) -> SmtpServer {
        require_aiosmtpd();
        let maildir = tempfile::tempdir().expect("temp maildir");
        let certs = repo_dir().join("tests/smtp/certs");
        let mut cmd = Command::new(python());
        cmd.arg(repo_dir().join("tests/smtp/server.py"))
            .arg("--maildir")
            .arg(maildir.path())
            .arg("--security")
            .arg(match options.security {
                Security::None => "none",
                Security::Starttls => "starttls",
                Security::Tls => "tls",
            })
            .arg("--cert")
            .arg(certs.join("server.pem"))
            .arg("--key")
            .arg(certs.join("server.key"))
            .arg("--tempfail")
            .arg(options.tempfail.to_string())
            .arg("--tempfail-at")
            .arg(if options.tempfail_at_data {
                "data"
            } else {
                "mail"
            })
            .arg("--drop")
            .arg(options.drop.to_string());
        if options.reject {
            cmd.arg("--reject");
        }
        if let Some(u) = &options.user {
            cmd.arg("--user").arg(u);
        }
        if let Some(p) = &options.password {
            cmd.arg("--password").arg(p);
        }
        if let Some(t) = &options.token {
            cmd.arg("--token").arg(t);
        }
        if !options.mechanisms.is_empty() {
            cmd.arg("--mechanisms").arg(options.mechanisms.join(","));
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start tests/smtp/server.py: {e}; run .ci/smtp-setup.sh")
            });

        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse::<u16>().ok());
        match port {
            Some(port) => SmtpServer {
                child,
                port,
                options,
                maildir,
            },
            None => {
                let _ = child.kill();
                let _ = child.wait();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!(
                    "the SMTP test server did not start (stdout {line:?}): {err}\nrun .ci/smtp-setup.sh if aiosmtpd is missing"
                );
            }
        }
    }

    pub fn maildir(&self) -> &Path {
        self.maildir.path()
    }

    /// Email settings pointing at this server: host 127.0.0.1, its port and security, the test
    /// CA as `ca_file`, from/to set; credentials as given in the options (auth "auto").
    pub fn settings(&self) -> EmailSettings {
        let mut s = Settings::defaults().email;
        s.enabled = true;
        s.smtp_host = Some("127.0.0.1".into());
        s.smtp_port = self.port;
        s.security = match self.options.security {
            Security::None => SmtpSecurity::None,
            Security::Starttls => SmtpSecurity::Starttls,
            Security::Tls => SmtpSecurity::Tls,
        };
        s.ca_file = Some(ca_file());
        s.username = self.options.user.clone();
        s.password = self.options.password.clone().map(Secret::new);
        s.auth = SmtpAuth::Auto;
        s.timeout = Duration::from_secs(10);
        s.from = Some("IOC Tracker <ioc-bot@example.com>".into());
        s.to = vec![
            "soc@example.com".into(),
            "Zoë Analyst <zoe@example.org>".into(),
        ];
        s.cc = vec!["lead@example.net".into()];
        s
    }

    /// An `[email]` section for a config file pointing at this server (the key names of issue 5),
    /// for end-to-end tests of the binary. The password goes in the environment:
    /// see [`SmtpServer::env`].
    pub fn email_toml(&self) -> String {
        let s = self.settings();
        let mut t = toml::Table::new();
        t.insert("enabled".into(), true.into());
        t.insert("smtp_host".into(), "127.0.0.1".into());
        t.insert("smtp_port".into(), i64::from(self.port).into());
        let security = match self.options.security {
            Security::None => "none",
            Security::Starttls => "starttls",
            Security::Tls => "tls",
        };
        t.insert("security".into(), security.into());
        if let Some(u) = &s.username {
            t.insert("username".into(), u.as_str().into());
        }
        t.insert("auth".into(), "auto".into());
        t.insert("ca_file".into(), ca_file().display().to_string().into());
        t.insert("timeout".into(), "10s".into());
        t.insert("from".into(), s.from.clone().unwrap().into());
        t.insert(
            "to".into(),
            toml::Value::Array(s.to.iter().map(|a| a.as_str().into()).collect()),
        );
        t.insert(
            "cc".into(),
            toml::Value::Array(s.cc.iter().map(|a| a.as_str().into()).collect()),
        );
        let mut doc = toml::Table::new();
        doc.insert("email".into(), toml::Value::Table(t));
        toml::to_string(&doc).unwrap()
    }

    /// Environment variables the binary needs for this server (the SMTP password, if any).
    pub fn env(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        if let Some(p) = &self.options.password {
            v.push(("IOC_TRACKER_SMTP_PASSWORD".to_string(), p.clone()));
        }
        if let Some(t) = &self.options.token {
            v.push(("IOC_TRACKER_SMTP_OAUTH_TOKEN".to_string(), t.clone()));
        }
        v
    }

    /// The messages stored so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.maildir())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|eml| {
                let meta: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(eml.with_extension("json")).unwrap())
                        .unwrap();
                let s = |k: &str| meta[k].as_str().map(str::to_string);
                Received {
                    raw: std::fs::read(&eml).unwrap(),
                    mail_from: s("mail_from").unwrap_or_default(),
                    rcpt_tos: meta["rcpt_tos"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_string())
                        .collect(),
                    auth_mechanism: s("auth_mechanism"),
                    login: s("login"),
                    tls: meta["tls"].as_bool().unwrap_or(false),
                }
            })
            .collect()
    }

    /// The server's event lines: `MAIL 1 451`, `AUTH PLAIN alice ok`, `DATA 1 250`…
    pub fn events(&self) -> Vec<String> {
        std::fs::read_to_string(self.maildir().join("events.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
