//! The email end to end through a real SMTP server (aiosmtpd, started per test on 127.0.0.1 by
//! tests/common/smtp.rs): TLS modes, AUTH mechanisms, retries, and what the received message
//! holds — parsed with mail-parser, the attachment opened with calamine. Running `run` with email
//! end to end is the integrator's test; this file tests the email module's API.

#[path = "common/smtp.rs"]
mod smtp;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use calamine::Reader;
use chrono::{Local, TimeZone};
use ioc_tracker::config::{EmailSettings, Secret, Settings, SmtpAuth, SmtpSecurity};
use ioc_tracker::email::{self, Attachment, EmailError, RetryPolicy};
use ioc_tracker::ioc::Ioc;
use ioc_tracker::report::{Action, Counts, Disposition, Report, RowResult};
use ioc_tracker::rules::Verdict;
use mail_parser::{MessageParser, MimeHeaders};
use smtp::{Security, ServerOptions, SmtpServer};

const PASSWORD: &str = "s3cret-Pa55word!";
const TOKEN: &str = "ya29.test-oauth-access-token-0123456789";

// ---------------------------------------------------------------- fixtures

struct Flagged {
    raw: &'static str,
    kind: &'static str,
    defanged: &'static str,
}

const FLAGGED: [Flagged; 4] = [
    Flagged {
        raw: "https://evil.example/login.php?id=1",
        kind: "URL",
        defanged: "hxxps://evil[.]example/login.php?id=1",
    },
    Flagged {
        raw: "198.51.100.7",
        kind: "IP",
        defanged: "198.51.100[.]7",
    },
    Flagged {
        raw: "44d88612fea8a8f36de82e1278abb02f",
        kind: "MD5",
        defanged: "44d88612fea8a8f36de82e1278abb02f",
    },
    Flagged {
        raw: "bücher.example",
        kind: "Domain",
        defanged: "bücher[.]example (xn--bcher-kva[.]example)",
    },
];

const HOSTILE_ANALYST: &str = "<script>alert('x')</script>";
const HOSTILE_MALWARE: &str = "\"><img src=x onerror=alert(1)>";
const HOSTILE_NOTE: &str = "score 9 >= 5 & \"quoted\" 'single'";

fn row(i: usize, f: &Flagged, disposition: Disposition) -> RowResult {
    let mut verdicts = BTreeMap::new();
    verdicts.insert(
        "FireEye".to_string(),
        Verdict::Detected {
            engine: "Trellix (FireEye)".into(),
            result: Some("Generic.mg.44d88612".into()),
        },
    );
    verdicts.insert(
        "McAfee".to_string(),
        Verdict::NotDetected {
            engine: "McAfee".into(),
            result: None,
        },
    );
    let (analyst, malware, note) = match i {
        0 => (
            HOSTILE_ANALYST.to_string(),
            HOSTILE_MALWARE.to_string(),
            HOSTILE_NOTE.to_string(),
        ),
        1 => (
            "Zoë Ångström".into(),
            "東京Trojan".into(),
            "score 7 >= 5".into(),
        ),
        _ => (
            format!("analyst {i}"),
            format!("malware {i}"),
            format!("score {} >= 5", 5 + i),
        ),
    };
    RowResult {
        sheet: "IOCs".into(),
        row: i + 2,
        date: "2026-11-0".to_string() + &(i + 1).to_string(),
        analyst,
        malware,
        declared_kind: f.kind.into(),
        raw_value: f.raw.into(),
        ioc: Ioc::parse(f.raw, Some(f.kind)).ok(),
        previous_score: Some(1.0),
        score: Some(5 + i as u32),
        lookup: None,
        verdicts,
        link: Some("https://www.virustotal.com/gui/search/abc".into()),
        disposition,
        note,
        action: Some(if i.is_multiple_of(2) {
            Action::Removed
        } else {
            Action::Marked
        }),
    }
}

fn report(flagged: usize) -> Report {
    let mut rows: Vec<RowResult> = FLAGGED[..flagged]
        .iter()
        .enumerate()
        .map(|(i, f)| row(i, f, Disposition::Flagged))
        .collect();
    let clean = Flagged {
        raw: "https://clean.example/ok",
        kind: "URL",
        defanged: "",
    };
    let mut below = row(9, &clean, Disposition::BelowThreshold);
    below.action = None;
    below.score = Some(0);
    rows.push(below);
    Report {
        started: Local.with_ymd_and_hms(2026, 12, 4, 9, 30, 0).unwrap(),
        finished: Local.with_ymd_and_hms(2026, 12, 4, 9, 42, 0).unwrap(),
        threshold: 5,
        edr_groups: vec!["FireEye".into(), "McAfee".into()],
        counts: Counts {
            rows: rows.len(),
            unique_iocs: rows.len(),
            checked: rows.len() + 3,
            flagged,
            below_threshold: 1,
            covered_by_edr: 1,
            not_found: 1,
            not_checked: 2,
            ..Counts::default()
        },
        rows,
        keys: Vec::new(),
        total_requests: 12,
    }
}

/// A small report workbook listing the flagged IOCs (the real one comes from the report module).
fn workbook(report: &Report) -> Attachment {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Malicious IOCs").unwrap();
    ws.write_string(0, 0, "IOC Value").unwrap();
    for (i, r) in report.flagged().enumerate() {
        ws.write_string(i as u32 + 1, 0, &r.raw_value).unwrap();
    }
    Attachment {
        filename: "malicious_iocs 2026-12-04.xlsx".into(),
        bytes: wb.save_to_buffer().unwrap(),
    }
}

fn with_auth(server: &SmtpServer, auth: SmtpAuth) -> EmailSettings {
    let mut s = server.settings();
    s.auth = auth;
    if auth == SmtpAuth::Xoauth2 {
        s.password = None;
        s.oauth_token = Some(Secret::new(TOKEN));
    }
    s
}

fn alice(security: Security, mechanisms: Vec<&'static str>) -> ServerOptions {
    ServerOptions {
        security,
        user: Some("alice@example.com".into()),
        password: Some(PASSWORD.into()),
        token: Some(TOKEN.into()),
        mechanisms,
        ..ServerOptions::default()
    }
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        tries: 3,
        first_delay: Duration::from_millis(20),
    }
}

// ---------------------------------------------------------------- what a received message holds

/// Everything the alert must hold, checked on the bytes the server received.
fn check_message(raw: &[u8], report: &Report, settings: &EmailSettings) {
    let msg = MessageParser::default()
        .parse(raw)
        .expect("parsable message");
    let flagged: Vec<&RowResult> = report.flagged().collect();
    assert!(
        flagged.iter().all(|r| r.ioc.is_some()),
        "fixture IOCs parse"
    );

    // headers
    assert_eq!(
        msg.subject().unwrap(),
        format!(
            "IOC tracking: {} IOCs flagged malicious (2026-12-04)",
            flagged.len()
        )
    );
    let addrs = |a: Option<&mail_parser::Address>| -> Vec<String> {
        a.map(|a| {
            a.iter()
                .filter_map(|x| x.address().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
    };
    assert_eq!(addrs(msg.from()), vec!["ioc-bot@example.com"]);
    assert_eq!(addrs(msg.to()), vec!["soc@example.com", "zoe@example.org"]);
    assert_eq!(addrs(msg.cc()), vec!["lead@example.net"]);
    assert!(
        msg.message_id().is_some_and(|id| !id.is_empty()),
        "Message-ID set"
    );
    let to_names: Vec<String> = msg
        .to()
        .unwrap()
        .iter()
        .filter_map(|a| a.name().map(str::to_string))
        .collect();
    assert_eq!(
        to_names,
        vec!["Zoë Analyst"],
        "non-ASCII display name intact"
    );

    // structure: mixed → (alternative: text + html) + xlsx
    assert_eq!(msg.content_type().unwrap().subtype(), Some("mixed"));
    assert_eq!(msg.text_body_count(), 1);
    assert_eq!(msg.html_body_count(), 1);
    let text = msg.body_text(0).unwrap().to_string();
    let html = msg.body_html(0).unwrap().to_string();
    let raw_text = String::from_utf8_lossy(raw);
    assert!(
        raw_text.contains("multipart/alternative"),
        "alternative part"
    );

    // HTML: one row per flagged IOC, defanged, escaped, Times New Roman 10 pt everywhere
    let td_rows = html.matches("<tr").count() - 1; // minus the header row
    assert_eq!(
        td_rows,
        flagged.len(),
        "one table row per flagged IOC:\n{html}"
    );
    assert!(!html.contains("<style"), "no <style> block");
    for f in &FLAGGED[..flagged.len()] {
        assert!(html.contains(f.defanged), "{} defanged in HTML", f.raw);
        assert!(text.contains(f.defanged), "{} defanged in text", f.raw);
    }
    assert!(
        !html.contains("clean[.]example"),
        "unflagged rows are not listed"
    );
    for body in [&html, &text] {
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "no live link:\n{body}"
        );
        assert!(!body.contains("evil.example") && !body.contains("198.51.100.7"));
    }
    assert!(!html.to_ascii_lowercase().contains("<a "), "no anchors");
    assert!(
        !html.contains("<script") && !html.contains("<img"),
        "hostile values escaped:\n{html}"
    );
    if !flagged.is_empty() {
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("score 9 &gt;= 5 &amp; &quot;quoted&quot; &#39;single&#39;"));
        // the text part carries them as they are
        assert!(text.contains(HOSTILE_ANALYST) && text.contains(HOSTILE_MALWARE));
    }
    if flagged.len() > 1 {
        assert!(html.contains("Zoë Ångström") && html.contains("東京Trojan"));
        assert!(text.contains("Zoë Ångström") && text.contains("東京Trojan"));
    }
    let font = "font-family:'Times New Roman',Times,serif;font-size:10pt";
    for tag in ["<td", "<th", "<table", "<tr", "<p", "<body"] {
        for (i, piece) in html.split(tag).enumerate().skip(1) {
            let open = &piece[..piece.find('>').unwrap()];
            assert!(open.contains(font), "{tag} #{i} lacks the font: {open}");
        }
    }
    assert!(html.contains("cellpadding=\"4\"") && html.contains("border-collapse:collapse"));
    for h in [
        "Date", "Analyst", "Malware", "Type", "IOC", "Score", "FireEye", "McAfee", "Reason",
        "Action",
    ] {
        assert!(html.contains(&format!(">{h}</th>")), "header {h}");
    }
    if !flagged.is_empty() {
        assert!(html.contains("Detected (Trellix (FireEye): Generic.mg.44d88612)"));
        assert!(html.contains(">Not detected</td>"));
        assert!(html.contains(">removed</td>") || html.contains(">marked</td>"));
    }
    let summary = format!(
        "{} IOCs checked: {} flagged malicious (score &gt;= 5), 1 covered by EDR, 1 not found on VirusTotal, 2 not checked.",
        report.counts.checked,
        flagged.len()
    );
    assert!(html.contains(&summary), "summary line in HTML:\n{html}");
    assert!(
        text.contains(&summary.replace("&gt;", ">")),
        "summary in text"
    );

    // text: the table aligned in columns (character widths)
    check_text_alignment(&text, flagged.len());

    // the attachment: content type, file name, base64, opened with calamine
    let atts: Vec<_> = msg.attachments().collect();
    assert_eq!(atts.len(), 1);
    let att = atts[0];
    let ct = att.content_type().unwrap();
    assert_eq!(
        format!("{}/{}", ct.ctype(), ct.subtype().unwrap()),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(
        att.attachment_name(),
        Some("malicious_iocs 2026-12-04.xlsx")
    );
    assert!(raw_text.contains("Content-Transfer-Encoding: base64"));
    let mut xlsx = calamine::Xlsx::new(Cursor::new(att.contents().to_vec())).expect("xlsx opens");
    let range = xlsx.worksheet_range("Malicious IOCs").unwrap();
    let listed: Vec<String> = range.rows().skip(1).map(|r| r[0].to_string()).collect();
    let expected: Vec<String> = flagged.iter().map(|r| r.raw_value.clone()).collect();
    assert_eq!(listed, expected, "attachment lists the same IOCs");

    let _ = settings;
}

/// In the text part every row starts each column at the same character offset as the header.
fn check_text_alignment(text: &str, flagged: usize) {
    let lines: Vec<&str> = text.lines().collect();
    let Some(h) = lines.iter().position(|l| l.starts_with("Date  ")) else {
        assert_eq!(flagged, 0, "no table header in text:\n{text}");
        return;
    };
    let header = lines[h];
    let col = |line: &str, name_start: usize| line.chars().nth(name_start);
    let starts: Vec<usize> = [
        "Analyst", "Malware", "Type", "IOC ", "Score", "FireEye", "McAfee", "Reason", "Action",
    ]
    .iter()
    .map(|n| header[..header.find(n).unwrap()].chars().count())
    .collect();
    let rows = &lines[h + 2..h + 2 + flagged];
    for row in rows {
        for &s in &starts {
            let before: String = row.chars().take(s).collect();
            assert!(
                before.ends_with("  "),
                "column at {s} not aligned in {row:?}\n{text}"
            );
            assert_ne!(col(row, s), Some(' '), "column at {s} empty in {row:?}");
        }
    }
    assert!(lines[h + 1].starts_with("----"));
    assert!(
        lines
            .get(h + 2 + flagged)
            .is_none_or(|l| l.trim().is_empty())
    );
}

// ---------------------------------------------------------------- through the server

#[tokio::test]
async fn starttls_with_ca_file_and_auth_plain() {
    let server = SmtpServer::start(alice(Security::Starttls, vec!["PLAIN"]));
    let settings = with_auth(&server, SmtpAuth::Plain);
    let report = report(4);
    let msg = email::compose(&report, &settings, Some(&workbook(&report))).unwrap();
    let outcome = email::send(&msg, &settings).await.unwrap();
    assert_eq!(outcome.attempts, 1);
    assert_eq!(outcome.server, format!("127.0.0.1:{}", server.port));
    assert!(outcome.reply.starts_with("250"), "{outcome:?}");

    let got = server.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls, "delivered over TLS");
    assert_eq!(got[0].auth_mechanism.as_deref(), Some("PLAIN"));
    assert_eq!(got[0].login.as_deref(), Some("alice@example.com"));
    assert_eq!(got[0].mail_from, "ioc-bot@example.com");
    let mut rcpt = got[0].rcpt_tos.clone();
    rcpt.sort();
    assert_eq!(
        rcpt,
        vec!["lead@example.net", "soc@example.com", "zoe@example.org"]
    );
    check_message(&got[0].raw, &report, &settings);
}

#[tokio::test]
async fn implicit_tls_with_auth_login() {
    let server = SmtpServer::start(alice(Security::Tls, vec!["LOGIN"]));
    let settings = with_auth(&server, SmtpAuth::Login);
    let report = report(2);
    let msg = email::compose(&report, &settings, Some(&workbook(&report))).unwrap();
    email::send(&msg, &settings).await.unwrap();
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].auth_mechanism.as_deref(), Some("LOGIN"));
    assert!(got[0].tls, "delivered over TLS");
    assert!(
        server
            .events()
            .contains(&"AUTH LOGIN alice@example.com ok".to_string())
    );
    check_message(&got[0].raw, &report, &settings);
}

#[tokio::test]
async fn auth_auto_uses_what_the_server_offers() {
    let server = SmtpServer::start(alice(Security::Starttls, vec!["LOGIN"]));
    let settings = with_auth(&server, SmtpAuth::Auto);
    let report = report(1);
    let msg = email::compose(&report, &settings, Some(&workbook(&report))).unwrap();
    email::send(&msg, &settings).await.unwrap();
    assert_eq!(
        server.received()[0].auth_mechanism.as_deref(),
        Some("LOGIN")
    );
}

#[tokio::test]
async fn xoauth2_sends_the_bearer_token() {
    let server = SmtpServer::start(alice(Security::Starttls, vec!["XOAUTH2"]));
    let settings = with_auth(&server, SmtpAuth::Xoauth2);
    let report = report(3);
    let msg = email::compose(&report, &settings, Some(&workbook(&report))).unwrap();
    email::send(&msg, &settings).await.unwrap();
    assert!(
        server
            .events()
            .contains(&"AUTH XOAUTH2 alice@example.com ok".to_string()),
        "{:?}",
        server.events()
    );
    let got = server.received();
    assert_eq!(got[0].auth_mechanism.as_deref(), Some("XOAUTH2"));
    check_message(&got[0].raw, &report, &settings);

    // a wrong token is a permanent auth failure that names the server
    let mut bad = settings.clone();
    bad.oauth_token = Some(Secret::new("ya29.expired-token"));
    let err = email::send_with(&msg, &bad, fast()).await.unwrap_err();
    assert!(matches!(err, EmailError::Auth { .. }), "{err}");
    assert!(!err.to_string().contains("expired-token"), "{err}");
}

#[tokio::test]
async fn wrong_password_fails_at_once_with_a_clear_error() {
    let server = SmtpServer::start(alice(Security::Starttls, vec![]));
    let mut settings = with_auth(&server, SmtpAuth::Auto);
    let wrong = "Wr0ng-password-xyz";
    settings.password = Some(Secret::new(wrong));
    let report = report(1);
    let msg = email::compose(&report, &settings, None).unwrap();
    let err = email::send(&msg, &settings).await.unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
    assert!(!err.is_temporary());
    let text = err.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{}", server.port)),
        "{text}"
    );
    assert!(text.contains("535"), "{text}");
    assert!(
        text.contains("IOC_TRACKER_SMTP_PASSWORD"),
        "says where the password comes from: {text}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(!text.contains(wrong) && !format!("{err:?}").contains(wrong));
    let auths = server
        .events()
        .iter()
        .filter(|e| e.starts_with("AUTH"))
        .count();
    assert_eq!(auths, 1, "not retried: {:?}", server.events());
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn temporary_failure_then_success() {
    let server = SmtpServer::start(ServerOptions {
        tempfail: 2,
        ..ServerOptions::default()
    });
    let settings = server.settings();
    let report = report(2);
    let msg = email::compose(&report, &settings, Some(&workbook(&report))).unwrap();
    // the default policy: three tries, 1 s then 2 s apart
    let started = std::time::Instant::now();
    let outcome = email::send(&msg, &settings).await.unwrap();
    assert_eq!(outcome.attempts, 3);
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "backoff waited"
    );
    assert_eq!(
        server.events(),
        vec!["MAIL 1 451", "MAIL 2 451", "MAIL 3 250", "DATA 1 250"]
    );
    let got = server.received();
    assert!(!got[0].tls, "security none: plain TCP");
    check_message(&got[0].raw, &report, &settings);
}

#[tokio::test]
async fn temporary_failure_at_data_is_retried() {
    let server = SmtpServer::start(ServerOptions {
        tempfail: 1,
        tempfail_at_data: true,
        ..ServerOptions::default()
    });
    let settings = server.settings();
    let msg = email::compose(&report(1), &settings, None).unwrap();
    let outcome = email::send_with(&msg, &settings, fast()).await.unwrap();
    assert_eq!(outcome.attempts, 2);
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn temporary_failure_on_every_try_gives_up_after_three() {
    let server = SmtpServer::start(ServerOptions {
        tempfail: 10,
        ..ServerOptions::default()
    });
    let settings = server.settings();
    let msg = email::compose(&report(1), &settings, None).unwrap();
    let err = email::send_with(&msg, &settings, fast()).await.unwrap_err();
    assert!(err.is_temporary(), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("451") && text.contains("(3 tries)"), "{text}");
    assert!(
        text.contains(&format!("127.0.0.1:{}", server.port)),
        "{text}"
    );
    assert_eq!(
        server.events(),
        vec!["MAIL 1 451", "MAIL 2 451", "MAIL 3 451"]
    );
}

#[tokio::test]
async fn dropped_connection_is_retried() {
    let server = SmtpServer::start(ServerOptions {
        drop: 1,
        ..ServerOptions::default()
    });
    let settings = server.settings();
    let msg = email::compose(&report(1), &settings, None).unwrap();
    let outcome = email::send_with(&msg, &settings, fast()).await.unwrap();
    assert_eq!(outcome.attempts, 2);
    assert_eq!(
        server.events(),
        vec!["MAIL 1 dropped", "MAIL 2 250", "DATA 1 250"]
    );
}

#[tokio::test]
async fn permanent_rejection_is_not_retried() {
    let server = SmtpServer::start(ServerOptions {
        reject: true,
        ..ServerOptions::default()
    });
    let settings = server.settings();
    let msg = email::compose(&report(1), &settings, None).unwrap();
    let err = email::send_with(&msg, &settings, fast()).await.unwrap_err();
    assert!(matches!(err, EmailError::Permanent { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("554 5.7.1 message refused by test policy"),
        "{err}"
    );
    assert_eq!(server.events(), vec!["MAIL 1 554"]);
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut settings = Settings::defaults().email;
    settings.smtp_host = Some("127.0.0.1".into());
    settings.smtp_port = port;
    settings.security = SmtpSecurity::None;
    settings.from = Some("a@example.com".into());
    settings.to = vec!["b@example.com".into()];
    let msg = email::compose(&report(1), &settings, None).unwrap();
    let err = email::send_with(&msg, &settings, fast()).await.unwrap_err();
    assert!(
        matches!(err, EmailError::Connect { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[tokio::test]
async fn starttls_without_the_ca_is_a_tls_error() {
    let server = SmtpServer::start(ServerOptions {
        security: Security::Starttls,
        ..ServerOptions::default()
    });
    let mut settings = server.settings();
    settings.ca_file = None;
    let msg = email::compose(&report(1), &settings, None).unwrap();
    let err = email::send_with(&msg, &settings, fast()).await.unwrap_err();
    assert!(matches!(err, EmailError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("ca_file"), "{err}");
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn implicit_tls_against_a_plain_port_is_a_tls_error() {
    let server = SmtpServer::start(ServerOptions::default());
    let mut settings = server.settings();
    settings.security = SmtpSecurity::Tls;
    let msg = email::compose(&report(1), &settings, None).unwrap();
    let err = email::send_with(&msg, &settings, fast()).await.unwrap_err();
    assert!(matches!(err, EmailError::Tls { .. }), "{err:?}");
}

// ---------------------------------------------------------------- secrets

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_password_never_reaches_an_error_a_log_or_the_eml() {
    use base64::Engine as _;
    let logs = LogBuf::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .finish();
    // global, not set_default: a thread-local subscriber loses events while other tests run
    // (tracing's callsite interest cache); every test of this binary then logs into `logs`
    tracing::subscriber::set_global_default(subscriber).expect("only this test sets it");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let server = SmtpServer::start(ServerOptions {
        tempfail: 1,
        ..alice(Security::Starttls, vec![])
    });
    let settings = with_auth(&server, SmtpAuth::Plain);
    let report = report(2);
    let msg = email::compose(&report, &settings, Some(&workbook(&report))).unwrap();
    let mut texts = Vec::new();

    // a success after a temporary failure (logs a warning and an info)
    rt.block_on(email::send_with(&msg, &settings, fast()))
        .unwrap();
    // a wrong password (the error), and a wrong token
    let mut wrong = settings.clone();
    wrong.password = Some(Secret::new(format!("{PASSWORD}-but-wrong")));
    let err = rt
        .block_on(email::send_with(&msg, &wrong, fast()))
        .unwrap_err();
    texts.push(err.to_string());
    texts.push(format!("{err:?}"));
    // a username without password
    let mut half = settings.clone();
    half.password = None;
    texts.push(
        rt.block_on(email::send(&msg, &half))
            .unwrap_err()
            .to_string(),
    );
    // the settings as --show-settings / --json would print them
    texts.push(format!("{settings:?}"));
    texts.push(serde_json::to_string(&settings).unwrap());
    // the .eml
    let dir = tempfile::tempdir().unwrap();
    let eml = dir.path().join("alert.eml");
    email::write_eml(&msg, &eml).unwrap();
    texts.push(String::from_utf8_lossy(&std::fs::read(&eml).unwrap()).into_owned());
    let log = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        log.contains("email accepted"),
        "the log was captured:\n{log}"
    );
    texts.push(log);

    let b64 = base64::engine::general_purpose::STANDARD;
    let forms = [
        PASSWORD.to_string(),
        b64.encode(PASSWORD),
        b64.encode(format!("\0alice@example.com\0{PASSWORD}")),
    ];
    for t in &texts {
        for f in &forms {
            assert!(!t.contains(f.as_str()), "secret leaked into: {t}");
        }
    }
}

// ---------------------------------------------------------------- compose and .eml

#[test]
fn eml_file_holds_the_formatted_message() {
    let mut settings = Settings::defaults().email;
    settings.from = Some("IOC Tracker <ioc-bot@example.com>".into());
    settings.to = vec![
        "soc@example.com".into(),
        "Zoë Analyst <zoe@example.org>".into(),
    ];
    settings.cc = vec!["lead@example.net".into()];
    let report = report(4);
    let msg = email::compose(&report, &settings, Some(&workbook(&report))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = email::eml_path_in(dir.path(), &report);
    assert!(
        path.ends_with("ioc-tracking-20261204-093000.eml"),
        "{path:?}"
    );
    email::write_eml(&msg, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes, msg.formatted());
    check_message(&bytes, &report, &settings);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file left behind");

    let err = email::write_eml(&msg, &dir.path().join("missing/alert.eml")).unwrap_err();
    assert!(err.to_string().contains("missing/alert.eml"), "{err}");
}

#[test]
fn nothing_flagged_sends_only_when_clean_mail_is_asked_for() {
    let mut settings = Settings::defaults().email;
    settings.from = Some("ioc-bot@example.com".into());
    settings.to = vec!["soc@example.com".into()];
    let clean = report(0);
    assert!(!email::should_send(&clean, &settings));
    assert!(email::should_send(&report(1), &settings));
    settings.send_when_clean = true;
    assert!(email::should_send(&clean, &settings));

    let msg = email::compose(&clean, &settings, None).unwrap();
    let raw = msg.formatted();
    let parsed = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        parsed.subject().unwrap(),
        "IOC tracking: 0 IOCs flagged malicious (2026-12-04)"
    );
    let text = parsed.body_text(0).unwrap();
    let html = parsed.body_html(0).unwrap();
    assert!(
        text.starts_with("All clear: none of the 4 IOCs checked on 2026-12-04"),
        "{text}"
    );
    assert!(html.contains("All clear"), "{html}");
    assert!(!html.contains("<table"), "no table when nothing is flagged");
    assert_eq!(parsed.attachments().count(), 0);
}

#[test]
fn subject_template_placeholders() {
    let mut settings = Settings::defaults().email;
    settings.subject = "[SOC] {flagged}/{checked} on {date} ({flagged})".into();
    assert_eq!(
        email::subject(&report(3), &settings),
        "[SOC] 3/7 on 2026-12-04 (3)"
    );
}

#[test]
fn bad_or_missing_addresses_are_named() {
    let mut settings = Settings::defaults().email;
    let r = report(1);
    let err = email::compose(&r, &settings, None).unwrap_err().to_string();
    assert!(err.contains("[email] from"), "{err}");
    settings.from = Some("ioc-bot@example.com".into());
    let err = email::compose(&r, &settings, None).unwrap_err().to_string();
    assert!(err.contains("[email] to"), "{err}");
    settings.to = vec!["soc@example.com".into()];
    settings.cc = vec!["not an address".into()];
    let err = email::compose(&r, &settings, None).unwrap_err().to_string();
    assert!(
        err.contains("[email] cc") && err.contains("not an address"),
        "{err}"
    );
}

#[test]
fn a_flagged_row_without_a_parsed_ioc_is_still_defanged() {
    let mut settings = Settings::defaults().email;
    settings.from = Some("ioc-bot@example.com".into());
    settings.to = vec!["soc@example.com".into()];
    let mut r = report(1);
    r.rows[0].ioc = None;
    r.rows[0].raw_value = "http://bad.example.org/x.exe".into();
    let raw = email::compose(&r, &settings, None).unwrap().formatted();
    let parsed = MessageParser::default().parse(&raw).unwrap();
    for body in [parsed.body_html(0).unwrap(), parsed.body_text(0).unwrap()] {
        assert!(
            body.contains("hxxp://bad[.]example[.]org/x[.]exe"),
            "{body}"
        );
        assert!(!body.contains("bad.example"), "{body}");
    }
}

// ---------------------------------------------------------------- test-email

fn full_settings(email: EmailSettings) -> Settings {
    let mut s = Settings::defaults();
    s.email = email;
    s
}

#[tokio::test]
async fn test_email_connects_logs_in_and_sends() {
    use ioc_tracker::app::{ExitCode, test_email::test_email};
    let server = SmtpServer::start(alice(Security::Starttls, vec![]));
    let settings = full_settings(with_auth(&server, SmtpAuth::Auto));
    let out = ioc_tracker::output::Output::new(false, false);
    let args = ioc_tracker::cli::TestEmailArgs {
        to: Some("Other <other@example.com>".into()),
    };
    let code = test_email(&settings, &args, &out).await.unwrap();
    assert_eq!(code, ExitCode::Ok);
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].rcpt_tos,
        vec!["other@example.com"],
        "--to replaces to and cc"
    );
    assert!(got[0].tls);
    let msg = MessageParser::default().parse(&got[0].raw).unwrap();
    assert_eq!(msg.subject(), Some("ioc-tracker test message"));
    assert!(
        msg.body_text(0)
            .unwrap()
            .contains("Other <other@example.com>")
    );
    assert!(
        msg.body_html(0)
            .unwrap()
            .contains("Other &lt;other@example.com&gt;")
    );
}

#[tokio::test]
async fn test_email_fails_with_exit_1_and_the_reason() {
    use ioc_tracker::app::{ExitCode, test_email::test_email};
    let server = SmtpServer::start(alice(Security::Tls, vec![]));
    let mut email = with_auth(&server, SmtpAuth::Auto);
    email.password = Some(Secret::new("not-the-password"));
    let out = ioc_tracker::output::Output::new(false, false);
    let args = ioc_tracker::cli::TestEmailArgs::default();
    let err = test_email(&full_settings(email.clone()), &args, &out)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Partial);
    assert!(err.to_string().contains("rejected the login"), "{err}");
    assert!(server.received().is_empty());

    // incomplete settings are named before anything is sent
    for (key, edit) in [
        (
            "smtp_host",
            Box::new(|e: &mut EmailSettings| e.smtp_host = None) as Box<dyn Fn(&mut EmailSettings)>,
        ),
        ("from", Box::new(|e: &mut EmailSettings| e.from = None)),
        ("to", Box::new(|e: &mut EmailSettings| e.to.clear())),
    ] {
        let mut e = email.clone();
        e.password = Some(Secret::new(PASSWORD));
        edit(&mut e);
        let err = test_email(&full_settings(e), &args, &out)
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Partial);
        assert!(
            err.to_string()
                .contains(&format!("[email] {key} is not set")),
            "{err}"
        );
    }
    assert!(server.events().iter().all(|e| !e.starts_with("MAIL")));
}

#[test]
fn harness_config_section_parses() {
    let server = SmtpServer::start(alice(Security::Starttls, vec![]));
    let doc: toml::Table = server.email_toml().parse().unwrap();
    let email = doc["email"].as_table().unwrap();
    assert_eq!(
        email["smtp_port"].as_integer(),
        Some(i64::from(server.port))
    );
    assert_eq!(email["security"].as_str(), Some("starttls"));
    assert_eq!(email["to"].as_array().unwrap().len(), 2);
    assert!(
        !server.email_toml().contains(PASSWORD),
        "the password goes in the environment"
    );
    assert_eq!(server.env()[0].0, "IOC_TRACKER_SMTP_PASSWORD");
}

// ---------------------------------------------------------------- the binary

fn binary_test_email(
    server: &SmtpServer,
    password: &str,
    extra: &[&str],
) -> assert_cmd::assert::Assert {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ioc-tracker.toml");
    std::fs::write(&config, server.email_toml()).unwrap();
    let mut cmd = assert_cmd::Command::cargo_bin("ioc-tracker").unwrap();
    cmd.current_dir(dir.path())
        .env("IOC_TRACKER_SMTP_PASSWORD", password)
        .env_remove("IOC_TRACKER_SMTP_OAUTH_TOKEN")
        .env("NO_COLOR", "1")
        .arg("-c")
        .arg(&config)
        .args(extra)
        .arg("test-email");
    cmd.assert()
}

#[test]
fn binary_test_email_says_each_step_and_exits_0() {
    let server = SmtpServer::start(alice(Security::Starttls, vec![]));
    let out = binary_test_email(&server, PASSWORD, &[]).success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for step in [
        "connect: ok",
        "tls: STARTTLS",
        "auth: logged in as \"alice@example.com\"",
        "accepted: 250",
    ] {
        assert!(stderr.contains(step), "missing {step:?} in:\n{stderr}");
    }
    assert!(
        stdout.contains("test message accepted by 127.0.0.1:"),
        "{stdout}"
    );
    assert_eq!(server.received().len(), 1);
    assert!(!stderr.contains(PASSWORD) && !stdout.contains(PASSWORD));

    let out = binary_test_email(&server, PASSWORD, &["--json"]).success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["sent"], true);
    assert_eq!(v["attempts"], 1);
}

#[test]
fn binary_test_email_wrong_password_exits_1_without_showing_it() {
    let server = SmtpServer::start(alice(Security::Tls, vec![]));
    let wrong = "Wr0ng-but-secret-123";
    let out = binary_test_email(&server, wrong, &["-vvv"]).code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("auth: failed"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: smtp server 127.0.0.1:{} rejected the login",
            server.port
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(wrong), "password shown:\n{stderr}");
    assert!(String::from_utf8_lossy(&out.get_output().stdout).is_empty());

    // --show-settings masks it too
    let out = binary_test_email(&server, wrong, &["--show-settings"]).success();
    let shown = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        shown.contains("smtp_host") && !shown.contains(wrong),
        "{shown}"
    );
}

#[test]
fn an_idn_url_is_shown_in_unicode_and_punycode_both_defanged() {
    let mut settings = Settings::defaults().email;
    settings.from = Some("ioc-bot@example.com".into());
    settings.to = vec!["soc@example.com".into()];
    let mut r = report(1);
    r.rows[0].raw_value = "hxxps://bücher[.]example/x".into();
    r.rows[0].ioc = Some(Ioc::parse(&r.rows[0].raw_value, Some("URL")).unwrap());
    let raw = email::compose(&r, &settings, None).unwrap().formatted();
    let parsed = MessageParser::default().parse(&raw).unwrap();
    for body in [parsed.body_html(0).unwrap(), parsed.body_text(0).unwrap()] {
        assert!(
            body.contains("hxxps://bücher[.]example/x (hxxps://xn--bcher-kva[.]example/x)"),
            "{body}"
        );
    }
}
