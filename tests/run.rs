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
