//! No secret anywhere: a full `run` (two API keys, `query_quota = true` so a key even travels in
//! a URL path, email over STARTTLS with AUTH PLAIN to the aiosmtpd test server, `-vvv`,
//! `--log-file`, `--json`) and then every byte it produced is searched for the keys and the SMTP
//! password, plain and base64 (standard and URL-safe; the AUTH PLAIN blob too): stdout, stderr,
//! the log file, every file under the workbook's folder (journal, quota state, lock, workbook,
//! backup, report — xlsx entries decompressed) and the received message, decoded part by part
//! (the attached workbook decompressed).

use std::io::Read;
use std::path::Path;

use base64::Engine;
use ioc_tracker::vt::sim::{SimKey, Simulator};
use mail_parser::MessageParser;

use crate::common::generated;
use crate::harness::{self, KEY, finished};
use crate::smtp::{Security, ServerOptions, SmtpServer};

const KEY2: &str = "reliab000000000000000000000000000000000000000000000000000000r2k2";
const PASSWORD: &str = "Pa55-w0rd;SMTP/secret!";
const USER: &str = "alice@example.com";

fn needles() -> Vec<(String, Vec<u8>)> {
    let b64 = |s: &[u8]| {
        [
            base64::engine::general_purpose::STANDARD.encode(s),
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(s),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s),
        ]
    };
    let mut n = Vec::new();
    for (name, secret) in [("key 1", KEY), ("key 2", KEY2), ("smtp password", PASSWORD)] {
        n.push((format!("{name} (plain)"), secret.as_bytes().to_vec()));
        for (k, e) in b64(secret.as_bytes()).into_iter().enumerate() {
            n.push((format!("{name} (base64 #{k})"), e.into_bytes()));
        }
    }
    let plain_auth = format!("\0{USER}\0{PASSWORD}");
    for (k, e) in b64(plain_auth.as_bytes()).into_iter().enumerate() {
        n.push((format!("AUTH PLAIN blob (base64 #{k})"), e.into_bytes()));
    }
    n
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The bytes to search in a file: itself, plus every entry when it is a zip (xlsx).
fn expand(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![bytes.to_vec()];
    if let Ok(mut z) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
        for i in 0..z.len() {
            let mut buf = Vec::new();
            if let Ok(mut f) = z.by_index(i) {
                let _ = f.read_to_end(&mut buf);
            }
            out.push(buf);
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.file_name().is_some_and(|n| n != "ioc-tracker.toml") {
            // (the config is the test's input and holds no secret either; skipped anyway)
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_or_password_in_any_output_log_file_or_email() {
    search_a_run(None).await;
}

/// The same with every crate's log at trace (`IOC_TRACKER_LOG=trace`: reqwest, hyper, rustls,
/// lettre), as someone chasing a network problem would run it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_even_with_every_crate_logging_at_trace() {
    search_a_run(Some("trace")).await;
}

async fn search_a_run(log_env: Option<&str>) {
    crate::smtp::require_aiosmtpd();
    let server = SmtpServer::start(ServerOptions {
        security: Security::Starttls,
        user: Some(USER.into()),
        password: Some(PASSWORD.into()),
        mechanisms: vec!["PLAIN"],
        ..ServerOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let wb = dir.path().join("ioc_tracking.xlsx");
    let rows = generated::rows(24, 31);
    generated::write(&wb, &rows, false);
    let mut scenario = harness::scenario(&rows, |i, r| {
        harness::profile(&r.value, 0, if i % 3 == 0 { 9 } else { 1 }, None)
    });
    scenario.keys.push(SimKey {
        key: KEY2.into(),
        requests_per_minute: None,
        daily_quota: None,
    });
    let sim = Simulator::start(scenario).await.unwrap();
    let cfg = harness::config(
        dir.path(),
        &sim,
        1000.0,
        &format!("query_quota = true\n{}", server.email_toml()),
    );
    let log = dir.path().join("logs").join("ioc-tracker.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ioc-tracker"));
    cmd.env_remove("IOC_TRACKER_CONFIG")
        .env_remove("RUST_LOG")
        .env_remove("IOC_TRACKER_LOG")
        .env("IOC_TRACKER_VT_KEYS", format!("{KEY},{KEY2}"))
        .envs(server.env())
        .arg("-c")
        .arg(&cfg)
        .arg("-vvv")
        .arg("--log-file")
        .arg(&log)
        .arg("run")
        .arg("--workbook")
        .arg(&wb)
        .args(["--yes", "--json"]);
    if let Some(directives) = log_env {
        cmd.env("IOC_TRACKER_LOG", directives);
    }
    let ran = finished(
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap(),
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(ran.json["email"]["sent"], true, "{}", ran.stdout);
    let c = sim.counts();
    assert!(c.key(1) > 0 && c.key(2) > 0, "both keys used: {c:?}");
    assert_eq!(c.endpoint("quotas"), 2, "each key's quota read once");
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].auth_mechanism.as_deref(), Some("PLAIN"));

    // everything produced
    let mut places: Vec<(String, Vec<u8>)> = vec![
        ("stdout".into(), ran.stdout.clone().into_bytes()),
        ("stderr".into(), ran.stderr.clone().into_bytes()),
    ];
    assert!(log.exists(), "the log file was written");
    walk(dir.path(), &mut places);
    let raw = got[0].raw.clone();
    places.push(("email (raw)".into(), raw.clone()));
    let msg = MessageParser::default().parse(&raw).unwrap();
    for (i, part) in msg.parts.iter().enumerate() {
        places.push((
            format!("email part {i} (decoded)"),
            part.contents().to_vec(),
        ));
    }
    assert!(
        ran.stderr.contains("DEBUG smtp transport ready"),
        "-vvv logs on stderr: {}",
        ran.stderr
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("email accepted"),
        "the log file has the run's log: {logged}"
    );
    assert!(
        places.iter().any(|(p, _)| p.ends_with(".jsonl")),
        "the journal was searched"
    );
    assert!(
        places.iter().any(|(p, _)| p.ends_with("quota.json")),
        "the quota state was searched"
    );
    assert!(
        places
            .iter()
            .any(|(p, _)| p.ends_with("malicious_iocs.xlsx")),
        "the report was searched"
    );

    let needles = needles();
    let mut found = Vec::new();
    let mut searched = 0usize;
    for (place, bytes) in &places {
        for chunk in expand(bytes) {
            searched += chunk.len();
            for (name, n) in &needles {
                if find(&chunk, n) {
                    found.push(format!("{name} in {place}"));
                }
            }
        }
    }
    assert!(found.is_empty(), "secrets found: {found:#?}");
    eprintln!(
        "secrets (IOC_TRACKER_LOG={log_env:?}): {} needles searched in {} places ({} bytes, xlsx and email parts decoded): none found",
        needles.len(),
        places.len(),
        searched
    );
}
