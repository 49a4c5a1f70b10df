//! `ioc-tracker run` and `ioc-tracker demo` end to end (issues 4 and 5): the real binary against
//! the VirusTotal simulator started in-process on 127.0.0.1 (time-compressed), on fixture
//! workbooks built at test time; the workbook, the report and the email read back and compared
//! exactly. No terminal here, so the decision is `--yes`, `--no` or nobody (marked + warning).
//! The rules' branches themselves are unit-tested in `src/rules.rs`; the SMTP matrix in
//! `tests/email.rs`.

mod common;
#[path = "run/expect.rs"]
mod expect;
#[path = "run/harness.rs"]
mod harness;
#[path = "common/smtp.rs"]
mod smtp;

use chrono::Local;
use expect::{Mode, check_report, check_workbook, rows, serial, summary_counts};
use harness::*;

/// Run `args` on the tracking fixture and check the workbook, the backup and the report.
/// Returns the case and the output for further checks.
async fn run_and_check(
    failing: bool,
    args: &[&str],
    mode: Mode,
    exit: i32,
) -> (Case, std::process::Output) {
    let case = Case::tracking(failing, "").await;
    let original = read_sheets(&case.workbook);
    let from = serial(Local::now().naive_local());
    let out = case.run(args, &[]).await;
    let to = serial(Local::now().naive_local());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(exit), "{err}");
    let exps = rows(failing);
    check_workbook(&original, &case.workbook, &exps, mode, from, to);
    assert_eq!(
        std::fs::read(case.path("ioc_tracking.bak.xlsx")).unwrap(),
        case.original,
        "the backup is the original, byte for byte"
    );
    let requests = if failing { 17 } else { 13 };
    assert_eq!(case.counts().total, requests, "{:?}", case.counts());
    let action = if mode == Mode::Remove {
        "removed"
    } else {
        "marked"
    };
    check_report(
        &original[1],
        &case.path("malicious_iocs.xlsx"),
        &exps,
        action,
        &summary_counts(failing, mode, requests),
    );
    assert!(!err.contains(KEY), "the key never shows");
    (case, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yes_moves_flagged_rows_to_removed_iocs_and_changes_nothing_else() {
    let (case, out) = run_and_check(false, &["--yes"], Mode::Remove, 0).await;
    let err = stderr(&out);
    assert!(
        err.contains("3 removed from tracking (sheet `Removed IOCs`)"),
        "{err}"
    );
    assert!(
        !err.contains("--yes to remove"),
        "no warning with --yes: {err}"
    );
    assert!(out.stdout.is_empty(), "human output goes to stderr");
    let files = case.files();
    let journal: Vec<&String> = files.iter().filter(|f| f.ends_with(".jsonl")).collect();
    assert_eq!(journal.len(), 1, "{files:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_marks_flagged_rows_malicious_and_a_failing_ioc_gives_exit_1_with_outputs_written() {
    let (case, out) = run_and_check(true, &["--no"], Mode::Mark, 1).await;
    let err = stderr(&out);
    assert!(err.contains("3 marked Malicious"), "{err}");
    assert!(err.contains("1 not checked"), "{err}");
    assert_eq!(case.counts().ioc("198.51.100.9"), 4, "1 try + 3 retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_terminal_or_a_flag_flagged_rows_are_marked_and_the_warning_names_yes() {
    let (_case, out) = run_and_check(false, &[], Mode::Mark, 0).await;
    let err = stderr(&out);
    assert!(
        err.contains("no terminal to ask on: flagged IOCs will be kept and marked Malicious; pass --yes to remove them"),
        "{err}"
    );
    assert!(err.contains("3 marked Malicious"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_is_one_document_that_matches_the_workbook() {
    let case = Case::tracking(true, "").await;
    let out = case.run(&["--json", "--no"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is exactly one JSON document");
    let c = &v["counts"];
    let want_counts = serde_json::json!({
        "rows": 11, "unique_iocs": 8, "checked": 9, "flagged": 3, "below_threshold": 2,
        "covered_by_edr": 2, "already_malicious": 1, "not_found": 1, "invalid": 1,
        "not_checked": 1, "removed": 0, "marked": 3
    });
    assert_eq!(*c, want_counts);
    let exps = rows(true);
    let iocs = v["iocs"].as_array().unwrap();
    assert_eq!(iocs.len(), exps.len(), "one entry per row holding an IOC");
    let sheet = &read_sheets(&case.workbook)[1];
    for (j, e) in iocs.iter().zip(&exps) {
        assert_eq!(j["sheet"], "IOC Tracking");
        assert_eq!(j["row"], e.row, "{j}");
        assert_eq!(j["value"], e.value, "{j}");
        assert_eq!(j["kind"], serde_json::json!(e.kind), "{j}");
        assert_eq!(j["score"], serde_json::json!(e.score), "{j}");
        assert_eq!(j["flagged"], e.flagged, "{j}");
        assert_eq!(j["disposition"], e.disposition, "{j}");
        assert_eq!(
            j["action"],
            if e.flagged {
                serde_json::json!("marked")
            } else {
                serde_json::Value::Null
            },
            "{j}"
        );
        assert_eq!(j["note"], e.note.as_str(), "{j}");
        // the workbook says the same
        assert_eq!(
            sheet.cell(e.row - 1, expect::NOTES),
            &s(&e.note),
            "row {}",
            e.row
        );
        if let Some(score) = e.score {
            assert_eq!(sheet.cell(e.row - 1, expect::SCORE), &n(f64::from(score)));
        }
        let status = sheet.cell(e.row - 1, expect::STATUS);
        assert_eq!(
            *status == s("Malicious"),
            e.flagged || e.row == 9,
            "row {}",
            e.row
        );
        // EDR verdicts are read for files only; other kinds carry none
        let groups: Vec<&String> = j["verdicts"].as_object().unwrap().keys().collect();
        match e.kind {
            Some("md5" | "sha1" | "sha256") => assert_eq!(groups, ["FireEye", "McAfee"], "{j}"),
            _ => assert!(groups.is_empty(), "{j}"),
        }
    }
    assert_eq!(iocs[0]["verdicts"]["McAfee"]["verdict"], "detected");
    assert_eq!(iocs[0]["verdicts"]["McAfee"]["engine"], "TrellixENS");
    assert_eq!(iocs[0]["verdicts"]["FireEye"]["engine"], "FireEye");
    assert_eq!(
        iocs[1]["link"],
        "https://www.virustotal.com/gui/domain/evil.example.com"
    );
    assert_eq!(iocs[1]["previous_score"], 5.0);
    let path = |k: &str| v["files"][k].as_str().map(std::path::PathBuf::from);
    assert_eq!(path("workbook"), Some(case.workbook.clone()));
    assert_eq!(path("backup"), Some(case.path("ioc_tracking.bak.xlsx")));
    assert_eq!(path("report"), Some(case.path("malicious_iocs.xlsx")));
    assert!(path("journal").unwrap().is_file());
    assert!(v["files"]["eml"].is_null());
    assert_eq!(v["email"]["sent"], false);
    assert_eq!(
        v["email"]["skipped"],
        "email not configured ([email] smtp_host)"
    );
    assert_eq!(v["requests"], 17);
    assert_eq!(v["keys"][0]["requests"], 17);
    assert_eq!(v["dry_run"], false);
    assert_eq!(v["interrupted"], false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(KEY));
    assert!(
        !stderr(&out).trim_start().starts_with('{'),
        "human messages stay on stderr"
    );
}

/// Nothing may be written or spent: the folder holds exactly what it held, the workbook's
/// bytes unchanged, and the simulator saw no request.
fn assert_untouched(case: &Case, before: &[String]) {
    assert_eq!(case.files(), before, "nothing written");
    assert_eq!(std::fs::read(&case.workbook).unwrap(), case.original);
    assert_eq!(
        case.counts().total,
        0,
        "no request spent: {:?}",
        case.counts()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_is_exit_2_before_any_request() {
    let case = Case::tracking(false, "").await;
    let before = case.files();
    let mut c = case.cmd();
    c.env_remove("IOC_TRACKER_VT_KEYS")
        .args(["run", "--yes", "--workbook"])
        .arg(&case.workbook);
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no VirusTotal API key: set IOC_TRACKER_VT_KEYS"),
        "{err}"
    );
    assert_untouched(&case, &before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_workbook_is_exit_2_before_any_request() {
    let case = Case::tracking(false, "").await;
    std::fs::write(&case.workbook, common::random_bytes()).unwrap();
    let case = Case {
        original: common::random_bytes(),
        ..case
    };
    let before = case.files();
    let out = case.run(&["--yes"], &[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("ioc_tracking.xlsx"), "names the file: {err}");
    assert_untouched(&case, &before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workbook_open_in_excel_is_exit_2_before_any_request() {
    let case = Case::tracking(false, "").await;
    std::fs::write(case.path("~$ioc_tracking.xlsx"), b"lock").unwrap();
    let before = case.files();
    let out = case.run(&["--yes"], &[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is open in Excel"), "{err}");
    assert!(err.contains("~$ioc_tracking.xlsx"), "{err}");
    assert_untouched(&case, &before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_folder_not_writable_is_exit_2_before_any_request() {
    let case = Case::tracking(false, "").await;
    // a path under a regular file: no folder can be created there (even as root)
    std::fs::write(case.path("plain-file"), b"x").unwrap();
    let report = case.path("plain-file/reports/malicious.xlsx");
    let before = case.files();
    let out = case
        .run(&["--yes", "--report", report.to_str().unwrap()], &[])
        .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("plain-file"), "names the place: {err}");
    assert_untouched(&case, &before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incomplete_email_settings_are_exit_2_before_any_request() {
    let case = Case::tracking(
        false,
        "[email]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = 9\nsecurity = \"none\"\n",
    )
    .await;
    let before = case.files();
    let out = case.run(&["--yes"], &[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("[email]"), "{err}");
    assert_untouched(&case, &before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_looks_up_but_writes_and_sends_nothing() {
    let case = Case::tracking(false, "").await;
    let before = case.files();
    let out = case.run(&["--dry-run", "--yes", "--json"], &[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(case.counts().total, 13, "the lookups happen");
    assert_eq!(
        case.files(),
        before,
        "no report, no backup, no journal, no quota file"
    );
    assert_eq!(std::fs::read(&case.workbook).unwrap(), case.original);
    assert!(
        err.contains("dry run: nothing written, nothing sent"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["counts"]["flagged"], 3);
    assert_eq!(v["counts"]["removed"], 0, "nothing removed in a dry run");
    assert!(
        v["iocs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["action"].is_null())
    );
    for k in ["workbook", "backup", "report", "journal", "eml"] {
        assert!(v["files"][k].is_null(), "{k}: {}", v["files"]);
    }
    assert_eq!(v["email"]["skipped"], "--dry-run");
}

/// One `iocs` entry of `--json`: (row, disposition, score, note).
type JsonRow = (u64, String, Option<u64>, String);

/// `iocs` of a `--json` run as (row, disposition, score, note).
fn json_rows(out: &std::process::Output) -> (serde_json::Value, Vec<JsonRow>) {
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(out)));
    let rows = v["iocs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["row"].as_u64().unwrap(),
                i["disposition"].as_str().unwrap().to_string(),
                i["score"].as_u64(),
                i["note"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (v, rows)
}

fn row(r: u64, d: &str, score: Option<u64>, note: &str) -> JsonRow {
    (r, d.to_string(), score, note.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threshold_above_every_score_flags_nothing_and_writes_no_report() {
    let case = Case::tracking(false, "").await;
    let out = case
        .run(&["--json", "--yes", "--threshold", "10"], &[])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (v, rows) = json_rows(&out);
    use expect::*;
    assert_eq!(
        rows,
        vec![
            row(
                2,
                "covered_by_edr",
                Some(32),
                &COVERED.replace("≥ 5", "≥ 10")
            ),
            row(
                3,
                "below_threshold",
                Some(9),
                "below threshold: score 9 < 10"
            ),
            row(
                5,
                "below_threshold",
                Some(2),
                "below threshold: score 2 < 10"
            ),
            row(6, "not_found", Some(0), NOT_FOUND),
            row(7, "invalid", None, INVALID),
            row(
                8,
                "covered_by_edr",
                Some(32),
                &COVERED.replace("≥ 5", "≥ 10")
            ),
            row(
                9,
                "already_malicious",
                Some(20),
                &ALREADY.replace("≥ 5", "≥ 10")
            ),
            row(
                10,
                "below_threshold",
                Some(9),
                "below threshold: score 9 < 10"
            ),
            row(
                11,
                "below_threshold",
                Some(6),
                "below threshold: score 6 < 10; EDR: FireEye: not detected, McAfee: detected (Trojan.Generic!AB1C1C79D6C1)"
            ),
            row(
                12,
                "below_threshold",
                Some(0),
                "below threshold: score 0 < 10"
            ),
        ]
    );
    assert_eq!(v["counts"]["flagged"], 0);
    assert!(v["files"]["report"].is_null());
    assert!(
        !case.path("malicious_iocs.xlsx").exists(),
        "no report when nothing is flagged"
    );
    assert!(case.workbook.exists() && case.path("ioc_tracking.bak.xlsx").exists());
    let names: Vec<String> = read_sheets(&case.workbook)
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        names,
        ["Read me", "IOC Tracking", "Lookups"],
        "nothing removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threshold_below_flags_more_and_report_path_is_used() {
    let case = Case::tracking(false, "").await;
    let report = case.path("custom report.xlsx");
    let out = case
        .run(
            &[
                "--json",
                "--no",
                "--threshold",
                "2",
                "--report",
                report.to_str().unwrap(),
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (v, rows) = json_rows(&out);
    let flagged: Vec<(u64, String)> = rows
        .iter()
        .filter(|r| r.1 == "flagged")
        .map(|r| (r.0, r.3.clone()))
        .collect();
    assert_eq!(
        flagged,
        vec![
            (3, "flagged: score 9 ≥ 2".to_string()),
            (5, "flagged: score 2 ≥ 2".to_string()),
            (10, "flagged: score 9 ≥ 2".to_string()),
            (11, "flagged: score 6 ≥ 2; EDR: FireEye: not detected, McAfee: detected (Trojan.Generic!AB1C1C79D6C1)".to_string()),
        ]
    );
    assert_eq!(v["files"]["report"], report.to_str().unwrap());
    assert!(
        !case.path("malicious_iocs.xlsx").exists(),
        "not the default path"
    );
    let sheets = read_sheets(&report);
    let values: Vec<String> = sheets[0].values[1..]
        .iter()
        .map(|r| r[4].to_string())
        .collect();
    assert_eq!(
        values,
        [
            "evil[.]example.com",
            "hxxps://payload[.]example.net/a?b=1",
            " Evil.Example.com. ",
            common::MD5_5
        ],
        "the report lists exactly the flagged IOCs, as the analyst wrote them"
    );
    let threshold = sheets[1]
        .values
        .iter()
        .find(|r| r[0] == s("Threshold"))
        .unwrap();
    assert_eq!(threshold[1], n(2.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reanalyse_spends_one_request_per_ioc_and_reads_the_stale_score() {
    let case = Case::tracking(false, "").await;
    let out = case.run(&["--json", "--yes", "--no-reanalyse"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let c = case.counts();
    assert_eq!(c.total, 7, "one request per unique IOC: {c:?}");
    for (value, n) in &c.by_ioc {
        assert_eq!(*n, 1, "{value}: {c:?}");
    }
    assert_eq!(c.endpoint("analyse"), 0, "{c:?}");
    let (v, rows) = json_rows(&out);
    let scores: Vec<(u64, Option<u64>)> = rows.iter().map(|r| (r.0, r.2)).collect();
    assert_eq!(
        scores,
        [
            (2, Some(30)),
            (3, Some(2)),
            (5, Some(3)),
            (6, Some(0)),
            (7, None),
            (8, Some(30)),
            (9, Some(20)),
            (10, Some(2)),
            (11, Some(1)),
            (12, Some(0))
        ],
        "the scores before re-analysis"
    );
    assert_eq!(
        v["counts"]["flagged"], 0,
        "evil.example.com crosses only after re-analysis"
    );
    assert_eq!(v["requests"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realert_flags_rows_already_malicious_again() {
    let case = Case::tracking(false, "").await;
    let out = case.run(&["--json", "--no", "--realert"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (v, rows) = json_rows(&out);
    assert_eq!(
        rows[6],
        row(
            9,
            "flagged",
            Some(20),
            "flagged: score 20 ≥ 5; EDR: FireEye: not present, McAfee (TrellixENS): not detected"
        )
    );
    assert_eq!(v["counts"]["flagged"], 4);
    assert_eq!(v["counts"]["already_malicious"], 0);
    let report = read_sheets(&case.path("malicious_iocs.xlsx"));
    let listed: Vec<String> = report[0].values[1..]
        .iter()
        .map(|r| r[4].to_string())
        .collect();
    assert_eq!(
        listed,
        [
            "evil[.]example.com",
            common::MD5_2,
            " Evil.Example.com. ",
            common::MD5_5
        ]
    );
}

fn smtp_server(password: &str) -> smtp::SmtpServer {
    smtp::SmtpServer::start(smtp::ServerOptions {
        security: smtp::Security::Starttls,
        user: Some("alice".into()),
        password: Some(password.into()),
        ..Default::default()
    })
}

/// The attachment and the number of flagged rows of the HTML table of a message.
fn parse_alert(raw: &[u8]) -> (String, Vec<u8>, usize, String) {
    use mail_parser::MimeHeaders;
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a message");
    let html = msg.body_html(0).unwrap().to_string();
    let rows = html.matches("<tr").count() - 1;
    let atts: Vec<_> = msg.attachments().collect();
    assert_eq!(atts.len(), 1, "one attachment");
    let name = atts[0].attachment_name().unwrap().to_string();
    let ct = atts[0].content_type().unwrap();
    assert_eq!(
        format!("{}/{}", ct.ctype(), ct.subtype().unwrap()),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    (name, atts[0].contents().to_vec(), rows, html)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_is_sent_with_one_row_per_flagged_ioc_and_the_report_attached() {
    let server = smtp_server("s3cret-Pa55");
    let case = Case::tracking(false, &server.email_toml()).await;
    let out = case.run(&["--yes", "--json"], &server.env()).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let got = server.received();
    assert_eq!(got.len(), 1, "{:?}", server.events());
    let mut rcpt = got[0].rcpt_tos.clone();
    rcpt.sort();
    assert_eq!(
        rcpt,
        ["lead@example.net", "soc@example.com", "zoe@example.org"]
    );
    assert_eq!(got[0].login.as_deref(), Some("alice"));
    assert!(got[0].tls, "STARTTLS");
    let (name, attachment, table_rows, html) = parse_alert(&got[0].raw);
    assert_eq!(name, "malicious_iocs.xlsx");
    assert_eq!(
        attachment,
        std::fs::read(case.path("malicious_iocs.xlsx")).unwrap()
    );
    assert_eq!(table_rows, 3, "one row per flagged IOC");
    assert_eq!(
        html.matches("evil[.]example[.]com").count(),
        2,
        "defanged, both rows"
    );
    assert!(html.contains(common::MD5_5));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["email"]["sent"], true);
    assert!(v["email"]["error"].is_null());
    for text in [err.as_str(), &String::from_utf8_lossy(&out.stdout)] {
        assert!(
            !text.contains("s3cret-Pa55"),
            "the SMTP password never shows"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_smtp_password_is_exit_1_with_the_workbook_and_report_written() {
    let server = smtp_server("right-Pa55");
    let case = Case::tracking(false, &server.email_toml()).await;
    let env = vec![(
        "IOC_TRACKER_SMTP_PASSWORD".to_string(),
        "wr0ng-Pa55".to_string(),
    )];
    let original = read_sheets(&case.workbook);
    let from = serial(Local::now().naive_local());
    let out = case.run(&["--yes", "--json"], &env).await;
    let to = serial(Local::now().naive_local());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{}", server.port)),
        "names the server: {err}"
    );
    assert!(err.contains("535"), "the reply: {err}");
    assert!(
        !err.contains("wr0ng-Pa55") && !String::from_utf8_lossy(&out.stdout).contains("wr0ng-Pa55")
    );
    assert!(server.received().is_empty());
    check_workbook(
        &original,
        &case.workbook,
        &rows(false),
        Mode::Remove,
        from,
        to,
    );
    assert!(
        case.path("malicious_iocs.xlsx").is_file(),
        "the report is written before the email"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["email"]["sent"], false);
    assert!(
        v["email"]["error"].as_str().unwrap().contains("535"),
        "{}",
        v["email"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_email_sends_nothing() {
    let server = smtp_server("s3cret-Pa55");
    let case = Case::tracking(false, &server.email_toml()).await;
    let out = case
        .run(&["--yes", "--no-email", "--json"], &server.env())
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(server.received().is_empty());
    assert!(
        server.events().is_empty(),
        "not even a connection: {:?}",
        server.events()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["email"]["skipped"], "--no-email");
    assert!(case.path("malicious_iocs.xlsx").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eml_writes_the_message_to_a_file_instead_of_sending() {
    let server = smtp_server("s3cret-Pa55");
    let case = Case::tracking(false, &server.email_toml()).await;
    let eml = case.path("alert.eml");
    let out = case
        .run(
            &["--no", "--json", "--eml", eml.to_str().unwrap()],
            &server.env(),
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(server.received().is_empty(), "written, not sent");
    let (name, attachment, table_rows, html) = parse_alert(&std::fs::read(&eml).unwrap());
    assert_eq!(name, "malicious_iocs.xlsx");
    assert_eq!(
        attachment,
        std::fs::read(case.path("malicious_iocs.xlsx")).unwrap()
    );
    assert_eq!(table_rows, 3);
    assert_eq!(
        html.matches("marked").count(),
        3,
        "the action of each row: {html}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"]["eml"], eml.to_str().unwrap());
    assert_eq!(v["email"]["eml"], eml.to_str().unwrap());
    assert!(!String::from_utf8_lossy(&std::fs::read(&eml).unwrap()).contains("s3cret-Pa55"));
}

/// `ioc-tracker demo <args> --out DIR` in a folder with no configuration at all.
async fn demo(args: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = assert_cmd::Command::cargo_bin("ioc-tracker").unwrap();
    for var in [
        "IOC_TRACKER_CONFIG",
        "IOC_TRACKER_VT_KEYS",
        "IOC_TRACKER_VT_BASE_URL",
    ] {
        c.env_remove(var);
    }
    c.env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .current_dir(dir.path())
        .arg("demo")
        .args(args)
        .arg("--out")
        .arg(dir.path().join("demo"))
        .timeout(std::time::Duration::from_secs(40));
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    (dir, out)
}

/// How each IOC of the bundled sample ends in the demo: (IOC Value as written, score, note).
fn demo_rows() -> Vec<(String, Option<f64>, String)> {
    let covered = expect::COVERED.to_string();
    let below = |n: u32| format!("below threshold: score {n} < 5");
    let v = |s: &str| s.to_string();
    vec![
        (v(common::SHA256_1), Some(32.0), covered.clone()),
        (
            v("evil-loader[.]example.com"),
            Some(12.0),
            v("flagged: score 12 ≥ 5"),
        ),
        (
            common::MD5_2.to_uppercase(),
            Some(20.0),
            v(
                "flagged: score 20 ≥ 5; EDR: FireEye: not detected, McAfee: detected (Trojan.Generic!A748C6CAF728)",
            ),
        ),
        (v("203.0.113[.]45"), Some(0.0), below(0)),
        (
            v("hxxps://payload.example.net/dl/invoice.zip"),
            Some(9.0),
            v("flagged: score 9 ≥ 5"),
        ),
        (v(common::SHA1_3), Some(0.0), v(expect::NOT_FOUND)),
        (v("2001:db8::dead:beef"), Some(0.0), below(0)),
        (
            v("cdn-update.example.org"),
            Some(7.0),
            v("flagged: score 7 ≥ 5"),
        ),
        (
            v(common::SHA256_4),
            Some(1.0),
            format!(
                "{}; EDR: FireEye: not present, McAfee (TrellixENS): not detected",
                below(1)
            ),
        ),
        (v("198.51.100.23"), Some(6.0), v("flagged: score 6 ≥ 5")),
        (
            v("hxxp://login-portal[.]example[.]test/verify.php"),
            Some(4.0),
            below(4),
        ),
        (
            v(common::MD5_5),
            Some(0.0),
            format!(
                "{}; EDR: FireEye: not present, McAfee (TrellixENS): not detected",
                below(0)
            ),
        ),
        (common::SHA256_1.to_uppercase(), Some(32.0), covered),
        (
            v("999.1.1.1"),
            None,
            v("invalid value: 999.1.1.1 is not a valid IPv4 address (octet 999 > 255)"),
        ),
        (v("mail.example.net"), Some(0.0), below(0)),
    ]
}

/// Check the demo folder after `demo --yes` (`remove`) or `demo --no`.
fn check_demo(dir: &std::path::Path, remove: bool) {
    let wb = dir.join("ioc_tracking.xlsx");
    let sheets = read_sheets(&wb);
    let names: Vec<&str> = sheets.iter().map(|s| s.name.as_str()).collect();
    if remove {
        assert_eq!(names, ["IOC Tracking", "Removed IOCs", "Notes"]);
    } else {
        assert_eq!(names, ["IOC Tracking", "Notes"]);
    }
    let tracking = &sheets[0];
    assert_eq!(tracking.cell(0, 8), &s("Last Checked"));
    assert_eq!(tracking.cell(0, 9), &s("Notes"));
    let mut left = Vec::new();
    let mut removed = Vec::new();
    for (value, score, note) in demo_rows() {
        let flagged = note.starts_with("flagged");
        let line = (value.clone(), score, note.clone(), flagged && !remove);
        if flagged && remove {
            removed.push(line);
        } else {
            left.push(line);
        }
    }
    let as_read =
        |sheet: &harness::Sheet, rows: usize| -> Vec<(String, Option<f64>, String, bool)> {
            (1..=rows)
                .map(|r| {
                    let score = match sheet.cell(r, 5) {
                        calamine::Data::Float(f) => Some(*f),
                        _ => None,
                    };
                    let checked = matches!(sheet.cell(r, 8), calamine::Data::DateTime(_));
                    assert_eq!(
                        checked,
                        score.is_some(),
                        "Last Checked only on looked-up rows, row {}",
                        r + 1
                    );
                    (
                        sheet.cell(r, 4).to_string(),
                        score.filter(|_| checked),
                        sheet.cell(r, 9).to_string(),
                        sheet.cell(r, 6) == &s("Malicious"),
                    )
                })
                .collect()
        };
    assert_eq!(as_read(tracking, tracking.values.len() - 1), left);
    if remove {
        let r = &sheets[1];
        assert_eq!(
            &r.values[0][10..],
            [s("Removed On"), s("Score at Removal"), s("Removal Reason")]
        );
        let got = as_read(r, r.values.len() - 1);
        assert_eq!(got, removed);
        for (i, (_, score, note, _)) in removed.iter().enumerate() {
            assert_eq!(r.cell(i + 1, 11), &n(score.unwrap()));
            assert_eq!(r.cell(i + 1, 12), &s(note));
        }
    }
    // the report lists the five flagged IOCs; the .eml attaches it
    let report = read_sheets(&dir.join("malicious_iocs.xlsx"));
    assert_eq!(report[0].values.len(), 6);
    let (name, attachment, table_rows, _) =
        parse_alert(&std::fs::read(dir.join("ioc-alert.eml")).unwrap());
    assert_eq!(name, "malicious_iocs.xlsx");
    assert_eq!(
        attachment,
        std::fs::read(dir.join("malicious_iocs.xlsx")).unwrap()
    );
    assert_eq!(table_rows, 5);
    assert!(dir.join("ioc_tracking.bak.xlsx").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_yes_runs_the_whole_pipeline_on_the_sample_offline() {
    let (dir, out) = demo(&["--yes"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    check_demo(&dir.path().join("demo"), true);
    assert!(err.contains("5 removed from tracking"), "{err}");
    assert!(err.contains("demo done:"), "{err}");
    assert!(
        err.contains("ioc-alert.eml"),
        "says where each file is: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_no_marks_the_flagged_iocs() {
    let (dir, out) = demo(&["--no"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    check_demo(&dir.path().join("demo"), false);
    assert!(err.contains("5 marked Malicious"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eml_without_sender_and_recipients_is_exit_2_before_any_request() {
    let case = Case::tracking(false, "").await;
    let before = case.files();
    let eml = case.path("alert.eml");
    let out = case
        .run(&["--yes", "--eml", eml.to_str().unwrap()], &[])
        .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("[email] from is not set"), "{err}");
    assert_untouched(&case, &before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eml_folder_not_writable_is_exit_2_before_any_request() {
    let case = Case::tracking(
        false,
        "[email]\nfrom = \"ioc@example.com\"\nto = [\"soc@example.com\"]\n",
    )
    .await;
    std::fs::write(case.path("plain-file"), b"x").unwrap();
    let before = case.files();
    let eml = case.path("plain-file/alert.eml");
    let out = case
        .run(&["--yes", "--eml", eml.to_str().unwrap()], &[])
        .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("plain-file"), "{err}");
    assert_untouched(&case, &before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_after_no_does_not_flag_the_marked_rows_again() {
    let case = Case::tracking(false, "").await;
    let first = case.run(&["--no", "--json"], &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let after_first = std::fs::read(&case.workbook).unwrap();
    let report = std::fs::read(case.path("malicious_iocs.xlsx")).unwrap();
    let second = case.run(&["--no", "--json"], &[]).await;
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(
        case.counts().total,
        26,
        "a finished run is not resumed: all looked up again"
    );
    let (v, rows) = json_rows(&second);
    assert_eq!(v["counts"]["flagged"], 0);
    assert_eq!(v["counts"]["already_malicious"], 4);
    let already: Vec<u64> = rows
        .iter()
        .filter(|r| r.1 == "already_malicious")
        .map(|r| r.0)
        .collect();
    assert_eq!(already, [3, 9, 10, 11]);
    assert!(
        v["files"]["report"].is_null(),
        "nothing flagged: no report written"
    );
    assert_eq!(
        std::fs::read(case.path("malicious_iocs.xlsx")).unwrap(),
        report,
        "the first run's report is left as it was"
    );
    assert_eq!(
        std::fs::read(case.path("ioc_tracking.bak.xlsx")).unwrap(),
        after_first,
        "the backup is the workbook as the first run left it"
    );
}

/// Regression: rows below a removed row move up, and formulas that point at cells of moved rows
/// must follow them, as when Excel deletes rows (here `=LEN(E3)` ends up on row 2 and must read
/// `=LEN(E2)`, not E3, now empty). Fixed in `src/workbook/edit.rs` with
/// `src/workbook/formula_refs.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formulas_below_a_removed_row_follow_their_row() {
    use common::C::{F, N, S};
    let case = Case::start(
        tracking_iocs(false),
        |p| {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet().set_name("IOC Tracking").unwrap();
            common::put_rows(
                ws,
                0,
                0,
                &[
                    TRACKING_HEADER.iter().map(|h| S(h)).collect(),
                    vec![
                        S("2024-01-01"),
                        S("A"),
                        S("M"),
                        S("Domain"),
                        S("evil.example.com"),
                        N(1.0),
                        S("Active"),
                        S("T"),
                        F("=LEN(E2)", "16"),
                    ],
                    vec![
                        S("2024-01-01"),
                        S("A"),
                        S("M"),
                        S("IP"),
                        S("203.0.113.7"),
                        N(1.0),
                        S("Active"),
                        S("T"),
                        F("=LEN(E3)", "11"),
                    ],
                ],
            );
            wb.save(p).unwrap();
        },
        "",
    )
    .await;
    let out = case.run(&["--yes"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sheets = read_sheets(&case.workbook);
    assert_eq!(sheets[0].formulas[1][8], "LEN(E2)", "the IP row, now row 2");
}
