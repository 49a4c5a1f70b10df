//! Deliver the message: over SMTP with lettre (STARTTLS, implicit TLS or plain; AUTH PLAIN,
//! LOGIN or XOAUTH2; a private CA from `ca_file`), retrying temporary failures with backoff, or
//! into an .eml file.
//!
//! Retry policy: 4xx replies, dropped or refused connections and timeouts are temporary and tried
//! again (three tries in all, waits of 1 s then 2 s on tokio's clock); 5xx replies, rejected
//! credentials, TLS and protocol mismatches fail at once. The password and the token are read
//! (`Secret::expose`) only to hand them to lettre, and every error text is scrubbed of them.
//! This module does not compose the message and does not decide whether to send.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::EmailError;
use crate::config::{EmailSettings, SmtpAuth, SmtpSecurity};
use crate::report::Report;

/// How often and how patiently to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// tries in all, at least 1
    pub tries: u32,
    /// wait before the second try; doubled before each next one
    pub first_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            tries: 3,
            first_delay: Duration::from_secs(1),
        }
    }
}

/// What the server said when it accepted the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    /// `host:port`
    pub server: String,
    /// the final reply, e.g. `250 2.0.0 Ok: queued as 1234`
    pub reply: String,
    /// tries it took (1 when the first one worked)
    pub attempts: u32,
}

/// `host:port` of the configured server, for messages.
pub fn server_name(settings: &EmailSettings) -> String {
    format!(
        "{}:{}",
        settings.smtp_host.as_deref().unwrap_or("(no smtp_host)"),
        settings.smtp_port
    )
}

/// Send with the default [`RetryPolicy`] (three tries).
pub async fn send(msg: &Message, settings: &EmailSettings) -> Result<SendOutcome, EmailError> {
    send_with(msg, settings, RetryPolicy::default()).await
}

/// Send, retrying temporary failures as `policy` says. Must run inside a tokio runtime.
pub async fn send_with(
    msg: &Message,
    settings: &EmailSettings,
    policy: RetryPolicy,
) -> Result<SendOutcome, EmailError> {
    let transport = transport(settings)?;
    deliver(&transport, msg, settings, policy).await
}

/// Open a connection the way a send would (connect, STARTTLS or TLS, AUTH) and check the server
/// answers; `test-email` uses it to report the steps before sending. Not retried.
pub async fn verify(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    settings: &EmailSettings,
) -> Result<(), EmailError> {
    match transport.test_connection().await {
        Ok(true) => Ok(()),
        Ok(false) => Err(EmailError::Protocol {
            server: server_name(settings),
            reason: "the server did not answer NOOP after the login".into(),
        }),
        Err(e) => Err(classify(&e, settings, 1)),
    }
}

/// Send through an existing transport, retrying temporary failures as `policy` says.
pub async fn deliver(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    msg: &Message,
    settings: &EmailSettings,
    policy: RetryPolicy,
) -> Result<SendOutcome, EmailError> {
    let server = server_name(settings);
    let tries = policy.tries.max(1);
    let mut delay = policy.first_delay;
    let mut attempt = 1;
    loop {
        tracing::info!(server = %server, attempt, "sending the email");
        match transport.send(msg.clone()).await {
            Ok(resp) => {
                let reply = format!(
                    "{} {}",
                    resp.code(),
                    resp.message().collect::<Vec<_>>().join(" ")
                );
                tracing::info!(server = %server, reply = %reply, "email accepted");
                return Ok(SendOutcome {
                    server,
                    reply: reply.trim_end().to_string(),
                    attempts: attempt,
                });
            }
            Err(e) => {
                let err = classify(&e, settings, attempt);
                if err.is_temporary() && attempt < tries {
                    tracing::warn!(
                        "email to {server}: try {attempt} of {tries} failed ({}), trying again in {}",
                        scrub(&e.to_string(), settings),
                        humantime::format_duration(delay)
                    );
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                    continue;
                }
                return Err(err);
            }
        }
    }
}

/// The lettre transport for these settings (security, port, TLS roots, credentials, timeout).
/// Must be called inside a tokio runtime (lettre's connection pool spawns a task).
pub fn transport(
    settings: &EmailSettings,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, EmailError> {
    let host = settings
        .smtp_host
        .as_deref()
        .filter(|h| !h.trim().is_empty())
        .ok_or(EmailError::Incomplete {
            key: "smtp_host",
            hint: "set the SMTP server, e.g. smtp_host = \"smtp.office365.com\"",
        })?;
    let server = server_name(settings);
    let tls = match settings.security {
        SmtpSecurity::None => Tls::None,
        SmtpSecurity::Starttls => Tls::Required(tls_parameters(host, settings)?),
        SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(host, settings)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(settings.smtp_port)
        .tls(tls)
        .timeout(Some(settings.timeout));
    if let Some((credentials, mechanisms)) = credentials(settings)? {
        if settings.security == SmtpSecurity::None && !is_loopback(host) {
            tracing::warn!(
                "[email] security = \"none\": the login to {server} goes over the network unencrypted; use starttls or tls"
            );
        }
        builder = builder.credentials(credentials).authentication(mechanisms);
    }
    tracing::debug!(server = %server, security = ?settings.security, auth = ?settings.auth, "smtp transport ready");
    Ok(builder.build::<Tokio1Executor>())
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn tls_parameters(host: &str, settings: &EmailSettings) -> Result<TlsParameters, EmailError> {
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(path) = &settings.ca_file {
        let ca_err = |reason: String| EmailError::CaFile {
            path: path.clone(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| ca_err(e.to_string()))?;
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(ca_err("no PEM certificate in it".into()));
        }
        let cert = Certificate::from_pem(&pem).map_err(|e| ca_err(e.to_string()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build().map_err(|e| EmailError::Tls {
        server: server_name(settings),
        reason: e.to_string(),
    })
}

type Auth = (Credentials, Vec<Mechanism>);

fn credentials(settings: &EmailSettings) -> Result<Option<Auth>, EmailError> {
    let user = settings.username.as_deref().filter(|u| !u.is_empty());
    match settings.auth {
        SmtpAuth::Xoauth2 => {
            let user = user.ok_or_else(|| {
                EmailError::Credentials(
                    "[email] auth = \"xoauth2\" needs [email] username (the mailbox the token is for)".into(),
                )
            })?;
            let token = settings.oauth_token.as_ref().ok_or_else(|| {
                EmailError::Credentials(
                    "[email] auth = \"xoauth2\" needs an OAuth2 access token in $IOC_TRACKER_SMTP_OAUTH_TOKEN".into(),
                )
            })?;
            Ok(Some((
                Credentials::new(user.to_string(), token.expose().to_string()),
                vec![Mechanism::Xoauth2],
            )))
        }
        auth => {
            let Some(user) = user else {
                if auth != SmtpAuth::Auto {
                    return Err(EmailError::Credentials(format!(
                        "[email] auth = \"{}\" needs [email] username",
                        if auth == SmtpAuth::Plain {
                            "plain"
                        } else {
                            "login"
                        }
                    )));
                }
                if settings.password.is_some() {
                    return Err(EmailError::Credentials(format!(
                        "a password is set (${}) but [email] username is not; set the username or unset the password",
                        settings.password_env
                    )));
                }
                return Ok(None);
            };
            let password = settings.password.as_ref().ok_or_else(|| {
                EmailError::Credentials(format!(
                    "[email] username is set but no password: put it in the environment variable ${} (named by [email] password_env)",
                    settings.password_env
                ))
            })?;
            let mechanisms = match auth {
                SmtpAuth::Plain => vec![Mechanism::Plain],
                SmtpAuth::Login => vec![Mechanism::Login],
                _ => vec![Mechanism::Plain, Mechanism::Login],
            };
            Ok(Some((
                Credentials::new(user.to_string(), password.expose().to_string()),
                mechanisms,
            )))
        }
    }
}

/// Turn lettre's error into ours: temporary or permanent, with the server and the reply, and
/// without the password or token.
pub(super) fn classify(
    e: &lettre::transport::smtp::Error,
    settings: &EmailSettings,
    attempts: u32,
) -> EmailError {
    let server = server_name(settings);
    let text = scrub(&e.to_string(), settings);
    let reply = match e.status() {
        Some(code) => {
            // lettre: "permanent error (535): 5.7.8 Authentication credentials invalid"
            let msg = text.split_once("): ").map_or(text.as_str(), |(_, m)| m);
            format!("{code} {msg}")
        }
        None => text.clone(),
    };
    if e.is_transient() {
        return EmailError::Temporary {
            server,
            attempts,
            reply,
        };
    }
    if e.is_permanent() {
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        if matches!(code.as_str(), "535" | "534" | "530" | "538") {
            return EmailError::Auth {
                server,
                user: settings.username.clone().unwrap_or_default(),
                password_env: settings.password_env.clone(),
                reply,
            };
        }
        return EmailError::Permanent { server, reply };
    }
    if e.is_tls() || text.contains("certificate") || text.contains("corrupt message") {
        return EmailError::Tls {
            server,
            reason: text,
        };
    }
    if e.is_timeout() || io_kind_is_transient(e) || text.starts_with("Connection error") {
        return EmailError::Connect {
            server,
            attempts,
            reason: text,
        };
    }
    EmailError::Protocol {
        server,
        reason: text,
    }
}

/// A network error that trying again may fix: refused, reset, aborted, cut off, timed out.
fn io_kind_is_transient(e: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind::*;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                ConnectionRefused
                    | ConnectionReset
                    | ConnectionAborted
                    | BrokenPipe
                    | UnexpectedEof
                    | TimedOut
                    | NotConnected
            );
        }
        source = s.source();
    }
    // lettre reports a closed connection as a network error without an io::Error inside
    let text = e.to_string().to_ascii_lowercase();
    text.contains("network error") || text.contains("incomplete response")
}

/// Replace the password and the token (and their base64 forms) in a text meant for people.
fn scrub(text: &str, settings: &EmailSettings) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = text.to_string();
    for secret in [&settings.password, &settings.oauth_token]
        .into_iter()
        .flatten()
    {
        let value = secret.expose();
        if value.is_empty() {
            continue;
        }
        out = out.replace(value, "****");
        let encoded = b64.encode(value);
        out = out.replace(&encoded, "****");
    }
    out
}

/// Write the message to `path` as an .eml file (RFC 5322 bytes), atomically: a temporary file in
/// the same folder, then a rename.
pub fn write_eml(msg: &Message, path: &Path) -> Result<(), EmailError> {
    let io_err = |source| EmailError::WriteEml {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".ioc-tracker-")
        .suffix(".eml.tmp")
        .tempfile_in(dir)
        .map_err(io_err)?;
    std::io::Write::write_all(&mut tmp, &msg.formatted()).map_err(io_err)?;
    tmp.as_file().sync_all().map_err(io_err)?;
    tmp.persist(path).map_err(|e| io_err(e.error))?;
    Ok(())
}

/// The file name for `[email] eml_dir`: `ioc-tracking-<yyyymmdd-hhmmss>.eml` from the run's start.
pub fn eml_path_in(dir: &Path, report: &Report) -> PathBuf {
    dir.join(format!(
        "ioc-tracking-{}.eml",
        report.started.format("%Y%m%d-%H%M%S")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Secret, Settings};

    fn settings() -> EmailSettings {
        let mut s = Settings::defaults().email;
        s.smtp_host = Some("smtp.example.com".into());
        s.username = Some("alice".into());
        s.password = Some(Secret::new("hunter2-secret"));
        s
    }

    #[test]
    fn scrub_removes_plain_and_base64_secrets() {
        let s = settings();
        let text = "bad: hunter2-secret aHVudGVyMi1zZWNyZXQ= end";
        assert_eq!(scrub(text, &s), "bad: **** **** end");
    }

    #[test]
    fn username_without_password_names_the_variable() {
        let mut s = settings();
        s.password = None;
        let e = credentials(&s).unwrap_err().to_string();
        assert!(e.contains("$IOC_TRACKER_SMTP_PASSWORD"), "{e}");
    }

    #[test]
    fn xoauth2_without_token_says_where_it_comes_from() {
        let mut s = settings();
        s.auth = SmtpAuth::Xoauth2;
        let e = credentials(&s).unwrap_err().to_string();
        assert!(e.contains("IOC_TRACKER_SMTP_OAUTH_TOKEN"), "{e}");
        s.oauth_token = Some(Secret::new("tok"));
        let (_, mech) = credentials(&s).unwrap().unwrap();
        assert_eq!(mech, vec![Mechanism::Xoauth2]);
    }

    #[test]
    fn anonymous_when_no_username() {
        let mut s = settings();
        s.username = None;
        s.password = None;
        assert!(credentials(&s).unwrap().is_none());
        s.auth = SmtpAuth::Login;
        assert!(credentials(&s).is_err());
    }

    #[test]
    fn missing_host_is_incomplete() {
        let mut s = settings();
        s.smtp_host = None;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let e = rt
            .block_on(async { transport(&s).map(|_| ()) })
            .unwrap_err();
        assert!(e.to_string().contains("smtp_host"), "{e}");
    }

    #[test]
    fn ca_file_without_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let mut s = settings();
        s.ca_file = Some(path.clone());
        let e = tls_parameters("smtp.example.com", &s)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("no PEM certificate") && e.contains("ca.pem"),
            "{e}"
        );
        s.ca_file = Some(dir.path().join("missing.pem"));
        assert!(tls_parameters("smtp.example.com", &s).is_err());
    }
}
