//! `ioc-tracker run`: the main job, in data-flow order —
//! settings → read → parse → preflight → plan → look up → rules → decide → write → report → email.
//!
//! Everything that can fail is checked before the first request is spent (workbook readable and
//! not open in Excel, output folders writable, a key, email settings, who answers the question,
//! the run lock). After the lookups nothing stops the outputs: a failure of one IOC is its note,
//! an email failure is exit code 1 with the workbook and report already written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{Local, NaiveDateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{AppError, ExitCode};
use crate::cli::RunArgs;
use crate::config::Settings;
use crate::email;
use crate::ioc::Ioc;
use crate::journal::{self, Event, Journal};
use crate::lock::RunLock;
use crate::output::Output;
use crate::plan::{self, KeyBudget};
use crate::prompt::{Answer, Decider};
use crate::quota::{self, QuotaState};
use crate::report::{self, Action, Disposition, Report, RowResult};
use crate::report_xlsx::{self, OriginalRows};
use crate::vt::{self, LookupStatus, Outcome};
use crate::workbook::{self, CellValue, TrackedRow, edit};

/// How this run goes, resolved from the flags and settings before anything happens.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub workbook: PathBuf,
    pub report: Option<PathBuf>,
    pub dry_run: bool,
    pub decider: Decider,
    pub email: EmailMode,
    pub fresh: bool,
}

/// What happens to the email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailMode {
    /// not sent, and why ("--no-email", "email not configured", "--dry-run")
    Off(String),
    /// sent over SMTP
    Smtp,
    /// written to this .eml file
    Eml(PathBuf),
}

impl RunOptions {
    pub fn from_args(settings: &Settings, args: &RunArgs) -> RunOptions {
        let workbook = args
            .workbook
            .clone()
            .unwrap_or_else(|| settings.workbook.path.clone());
        let email = if args.dry_run {
            EmailMode::Off("--dry-run".into())
        } else if args.no_email {
            EmailMode::Off("--no-email".into())
        } else if let Some(path) = &args.eml {
            EmailMode::Eml(path.clone())
        } else if let Some(dir) = &settings.email.eml_dir {
            EmailMode::Eml(dir.join(eml_name()))
        } else if settings.email.enabled {
            EmailMode::Smtp
        } else {
            EmailMode::Off("email not configured ([email] smtp_host)".into())
        };
        RunOptions {
            workbook,
            report: args.report.clone().or_else(|| settings.report.path.clone()),
            dry_run: args.dry_run,
            decider: Decider::from_flags(args.yes, args.no),
            email,
            fresh: args.fresh,
        }
    }
}

fn eml_name() -> String {
    format!("ioc-alert-{}.eml", Local::now().format("%Y%m%d-%H%M%S"))
}

/// The files a run wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Files {
    pub workbook: Option<PathBuf>,
    pub backup: Option<PathBuf>,
    pub report: Option<PathBuf>,
    pub journal: Option<PathBuf>,
    pub eml: Option<PathBuf>,
}

/// What happened to the email.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EmailResult {
    pub sent: bool,
    pub to: Vec<String>,
    pub eml: Option<PathBuf>,
    /// why it was not sent (no flagged IOCs, --no-email, …)
    pub skipped: Option<String>,
    pub error: Option<String>,
}

/// One entry of `--json` `iocs`: the fields of `check --json` plus the row and the decision.
#[derive(Debug, Serialize)]
struct JsonIoc<'a> {
    sheet: &'a str,
    row: usize,
    value: String,
    kind: Option<&'static str>,
    score: Option<u32>,
    previous_score: Option<f64>,
    flagged: bool,
    disposition: Disposition,
    action: Option<Action>,
    verdicts: &'a crate::rules::Verdicts,
    link: Option<&'a str>,
    note: &'a str,
}

#[derive(Debug, Serialize)]
struct JsonRun<'a> {
    counts: &'a report::Counts,
    iocs: Vec<JsonIoc<'a>>,
    files: &'a Files,
    email: &'a EmailResult,
    requests: u64,
    keys: &'a [report::KeyUsage],
    interrupted: bool,
    dry_run: bool,
}

/// The result of a run, for `run` and `demo`.
#[derive(Debug)]
pub struct RunSummary {
    pub report: Report,
    pub files: Files,
    pub email: EmailResult,
    pub interrupted: bool,
    pub exit: ExitCode,
}

pub async fn run(settings: &Settings, args: &RunArgs, out: &Output) -> Result<ExitCode, AppError> {
    let opts = RunOptions::from_args(settings, args);
    let cancel = super::interrupt::on_ctrl_c(out);
    let summary = execute(settings, &opts, out, cancel).await?;
    Ok(summary.exit)
}

/// The pipeline.
pub async fn execute(
    settings: &Settings,
    opts: &RunOptions,
    out: &Output,
    cancel: CancellationToken,
) -> Result<RunSummary, AppError> {
    let started = Local::now();

    // 1. Read the workbook and parse every row.
    let (mut wb, mut tracking) = workbook::read(&opts.workbook, &settings.workbook)?;
    let sheet_name = wb.sheets[tracking.sheet].name.clone();
    let tracked = workbook::tracked_rows(&wb, &tracking);
    let parsed: Vec<Result<Ioc, String>> = tracked.iter().map(TrackedRow::ioc).collect();
    let unique = unique_iocs(&tracked, &parsed);

    // 2. Preflight: everything that can fail, before any request.
    let target = workbook::output_path(&opts.workbook);
    let report_path = opts
        .report
        .clone()
        .unwrap_or_else(|| default_report_path(&opts.workbook));
    if !opts.dry_run {
        workbook::check_writable(&opts.workbook, &target)?;
        workbook::check_writable(&opts.workbook, &report_path)?;
    }
    if !unique.is_empty() && settings.virustotal.api_keys.is_empty() {
        return Err(AppError::Usage(
            "no VirusTotal API key: set IOC_TRACKER_VT_KEYS (comma-separated) or [virustotal] api_keys in the config file"
                .into(),
        ));
    }
    // email configuration errors found before any lookup: exit 2, not the email failure's 1
    match &opts.email {
        EmailMode::Smtp => {
            email::check_settings(&settings.email).map_err(|e| AppError::Usage(e.to_string()))?;
        }
        EmailMode::Eml(path) => {
            email::test_message(&settings.email).map_err(|e| AppError::Usage(e.to_string()))?;
            if !opts.dry_run {
                workbook::check_writable(&opts.workbook, path)?;
            }
        }
        EmailMode::Off(_) => {}
    }
    if opts.decider == Decider::NonInteractive && !opts.dry_run {
        out.warn(
            "no terminal to ask on: flagged IOCs will be kept and marked Malicious; pass --yes to remove them or --no to say so",
        );
    }
    let lock = if opts.dry_run {
        None
    } else {
        let lock =
            RunLock::acquire(&opts.workbook, "run").map_err(|e| AppError::Usage(e.to_string()))?;
        if let Some(prev) = &lock.taken_over {
            out.warn(&format!(
                "took over the lock left by {prev}, which no longer runs"
            ));
        }
        remove_leftover_temp_files(&[
            target.clone(),
            workbook::write::backup_path(&target),
            report_path.clone(),
        ]);
        Some(lock)
    };

    // 3. The journal: reuse an unfinished run's outcomes, start this run's record.
    let now_utc = Utc::now();
    let run_id = journal::new_run_id(now_utc);
    let reusable = if opts.fresh || opts.dry_run {
        journal::Reusable::new()
    } else {
        journal::prune(&opts.workbook, now_utc);
        journal::resumable(&opts.workbook, settings.virustotal.resume_max_age, now_utc)
    };
    let journal = if opts.dry_run {
        None
    } else {
        let mut j =
            Journal::create(&opts.workbook, &run_id).map_err(|e| AppError::Usage(e.to_string()))?;
        j.append(Event::Started {
            version: env!("CARGO_PKG_VERSION").into(),
            workbook: opts.workbook.display().to_string(),
            settings_digest: journal::settings_digest(settings),
            unique_iocs: unique.len(),
        })
        .map_err(|e| AppError::Usage(e.to_string()))?;
        Some(Arc::new(Mutex::new(j)))
    };
    let mut outcomes: HashMap<Ioc, Outcome> = HashMap::new();
    let mut to_look_up = Vec::new();
    for (ioc, last) in &unique {
        match reusable.get(&(ioc.kind(), ioc.value().to_string())) {
            Some(o) => {
                outcomes.insert(ioc.clone(), o.clone());
            }
            None => to_look_up.push((ioc.clone(), *last)),
        }
    }
    let reused = outcomes.len();
    if reused > 0 {
        out.info(&format!("resuming: {reused} outcomes reused from an unfinished run (--fresh to look them up again)"));
        for (ioc, o) in &outcomes {
            journal_event(&journal, outcome_event(ioc, o, true));
        }
    }

    // 4. The quota plan.
    let quota_path = quota::state_path(&opts.workbook);
    let mut quota_state = QuotaState::load(&quota_path, quota::today_utc());
    let budgets = key_budgets(settings, &quota_state, out).await;
    let mut the_plan = plan::make(to_look_up, reused, budgets, requests_per_ioc(settings));
    // the limiter's minute is divided by time_scale (time-compressed simulators)
    the_plan.expected = the_plan.expected.div_f64(settings.virustotal.time_scale);
    if !unique.is_empty() {
        out.info(&the_plan.to_string());
    }

    // 5. Look up.
    let mut lookup_keys = Vec::new();
    let mut total_requests = 0;
    if !the_plan.check.is_empty() {
        let bar = vt::progress::LookupBar::new(out, the_plan.check.len());
        let journal_cb = journal.clone();
        let on_outcome: vt::lookup::OutcomeFn = Arc::new(move |ioc: &Ioc, o: &Outcome| {
            journal_event(&journal_cb, outcome_event(ioc, o, false));
        });
        let lookup_opts = vt::lookup::LookupOptions {
            cancel: cancel.clone(),
            progress: Some(bar.callback()),
            on_outcome: Some(on_outcome),
            // what each key has left as the plan saw it (state file or VirusTotal's count)
            used_today: the_plan
                .keys
                .iter()
                .map(|k| {
                    settings
                        .virustotal
                        .daily_quota
                        .saturating_sub(k.left_today())
                })
                .collect(),
            ..Default::default()
        };
        let run = vt::lookup::lookup_all(&the_plan.check, settings, lookup_opts).await?;
        bar.finish();
        for w in &run.warnings {
            out.warn(w);
        }
        for (key, usage) in settings.virustotal.api_keys.iter().zip(&run.keys) {
            quota_state.add(key, usage.requests as u32);
        }
        if !opts.dry_run
            && let Err(e) = quota_state.save(&quota_path)
        {
            tracing::warn!("cannot save the quota state {}: {e}", quota_path.display());
        }
        total_requests = run.total_requests;
        lookup_keys = run.keys;
        for (ioc, o) in the_plan.check.iter().zip(run.outcomes) {
            outcomes.insert(ioc.clone(), o);
        }
    }
    let interrupted = cancel.is_cancelled();

    // 6. Rules.
    let mut rows = report::build_rows(
        &sheet_name,
        &tracked,
        &parsed,
        &outcomes,
        "deferred: daily quota",
        settings,
    );
    let flagged: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_flagged())
        .map(|(i, _)| i)
        .collect();

    // 7. The decision.
    let answer = if flagged.is_empty() {
        None
    } else {
        out.info(&flagged_table(&rows, settings));
        if opts.dry_run {
            None
        } else {
            Some(
                opts.decider
                    .ask(flagged.len())
                    .map_err(|e| AppError::Usage(e.to_string()))?,
            )
        }
    };
    if let Some(a) = answer {
        let action = match a {
            Answer::Remove => Action::Removed,
            Answer::Mark => Action::Marked,
        };
        for &i in &flagged {
            rows[i].action = Some(action);
        }
    }
    let counts = report::count(&rows, unique.len());
    let report = Report {
        started,
        finished: Local::now(),
        threshold: settings.rules.threshold,
        edr_groups: settings
            .rules
            .edr_groups
            .iter()
            .map(|g| g.name.clone())
            .collect(),
        rows,
        counts,
        keys: lookup_keys,
        total_requests,
    };
    journal_event(
        &journal,
        Event::Decision {
            who: opts.decider.who().into(),
            answer: answer.map(|a| match a {
                Answer::Remove => "remove".into(),
                Answer::Mark => "mark".into(),
            }),
            flagged: flagged.len(),
        },
    );

    let mut files = Files {
        journal: journal
            .as_ref()
            .map(|j| j.lock().map(|j| j.path().to_path_buf()).unwrap_or_default()),
        ..Files::default()
    };
    let mut email_result = EmailResult::default();
    if opts.dry_run {
        out.info("dry run: nothing written, nothing sent");
        email_result.skipped = Some("--dry-run".into());
    } else {
        // 8. The outputs.
        let original = OriginalRows::capture(&wb, &tracking, report.flagged().map(|r| r.row));
        let now = Local::now().naive_local();
        let removals = apply_to_workbook(
            &mut wb,
            &mut tracking,
            &report.rows,
            &tracked,
            now,
            settings,
        );
        if !removals.is_empty() {
            let rows: Vec<usize> = removals.iter().map(|r| r.index + 1).collect();
            edit::move_rows_to_removed(&mut wb, &tracking, &removals)?;
            journal_event(&journal, Event::RowsRemoved { rows });
        }
        let saved = workbook::save(&wb, Some(&tracking), &target, settings.workbook.backup)?;
        journal_event(
            &journal,
            Event::FileWritten {
                what: "workbook".into(),
                path: saved.path.display().to_string(),
            },
        );
        files.workbook = Some(saved.path.clone());
        files.backup = saved.backup.clone();
        let mut attachment = None;
        if report.counts.flagged > 0 {
            let bytes = report_xlsx::build(&report, &original)?;
            let path = report_xlsx::write(&report_path, &bytes)?;
            journal_event(
                &journal,
                Event::FileWritten {
                    what: "report".into(),
                    path: path.display().to_string(),
                },
            );
            attachment = Some(email::Attachment {
                filename: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "malicious_iocs.xlsx".into()),
                bytes,
            });
            files.report = Some(path);
        }

        // 9. The email.
        email_result = send_email(
            settings,
            opts,
            &report,
            attachment.as_ref(),
            interrupted,
            out,
        )
        .await;
        files.eml = email_result.eml.clone();
        if email_result.sent || email_result.eml.is_some() || email_result.error.is_some() {
            journal_event(
                &journal,
                Event::Email {
                    to: email_result.to.clone(),
                    result: email_result.error.clone().unwrap_or_else(|| {
                        if email_result.sent {
                            "sent".into()
                        } else {
                            "written to .eml".into()
                        }
                    }),
                },
            );
        }
    }

    let exit = if interrupted {
        ExitCode::Interrupted
    } else if report.counts.not_checked > 0 || email_result.error.is_some() {
        ExitCode::Partial
    } else {
        ExitCode::Ok
    };
    journal_event(
        &journal,
        Event::Finished {
            status: match exit {
                _ if opts.dry_run => "dry-run",
                ExitCode::Ok => "complete",
                ExitCode::Interrupted => "interrupted",
                _ => "partial",
            }
            .into(),
        },
    );
    drop(lock);

    if out.json {
        out.result_json(&json_view(
            &report,
            &files,
            &email_result,
            interrupted,
            opts.dry_run,
        ));
    } else {
        out.info(&summary_text(&report, &files, &email_result));
    }
    Ok(RunSummary {
        report,
        files,
        email: email_result,
        interrupted,
        exit,
    })
}

/// Temporary files (`.<name>.XXXXXX.tmp`) that a run killed while writing left beside its
/// outputs. Called with the run lock held, so no other run is writing them.
fn remove_leftover_temp_files(outputs: &[PathBuf]) {
    for out in outputs {
        let (Some(dir), Some(name)) = (out.parent(), out.file_name()) else {
            continue;
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let prefix = format!(".{}.", name.to_string_lossy());
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&prefix)
                && n.ends_with(".tmp")
                && e.file_type().is_ok_and(|t| t.is_file())
            {
                match std::fs::remove_file(e.path()) {
                    Ok(()) => tracing::info!(
                        "removed {}, left by a run that was stopped while writing",
                        e.path().display()
                    ),
                    Err(err) => tracing::warn!("cannot remove {}: {err}", e.path().display()),
                }
            }
        }
    }
}

fn outcome_event(ioc: &Ioc, outcome: &Outcome, reused: bool) -> Event {
    Event::Outcome {
        kind: ioc.kind(),
        value: ioc.value().to_string(),
        outcome: outcome.clone(),
        reused,
    }
}

/// Append to the journal; a failed write is logged, never fatal once the run has started.
fn journal_event(journal: &Option<Arc<Mutex<Journal>>>, event: Event) {
    if let Some(j) = journal {
        let mut j = j.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = j.append(event) {
            tracing::error!("{e}");
        }
    }
}

/// The unique valid IOCs in workbook order, each with the oldest `Last Checked` of its rows
/// (None when any of its rows was never checked).
pub(crate) fn unique_iocs(
    tracked: &[TrackedRow],
    parsed: &[Result<Ioc, String>],
) -> Vec<(Ioc, Option<NaiveDateTime>)> {
    let mut order: Vec<(Ioc, Option<NaiveDateTime>)> = Vec::new();
    let mut index: HashMap<Ioc, usize> = HashMap::new();
    for (row, p) in tracked.iter().zip(parsed) {
        let Ok(ioc) = p else { continue };
        match index.get(ioc) {
            Some(&i) => {
                let slot = &mut order[i].1;
                *slot = match (*slot, row.last_checked) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    _ => None,
                };
            }
            None => {
                index.insert(ioc.clone(), order.len());
                order.push((ioc.clone(), row.last_checked));
            }
        }
    }
    order
}

/// `malicious_iocs.xlsx` beside the workbook.
pub fn default_report_path(workbook: &Path) -> PathBuf {
    workbook.with_file_name("malicious_iocs.xlsx")
}

/// Each key's budget for today: from the quota state file, or — with `query_quota = true` —
/// from VirusTotal's `/users/{key}/overall_quotas` (falling back to the state file, with a
/// warning, when that request fails). Reading the quota is not a lookup.
pub(crate) async fn key_budgets(
    settings: &Settings,
    state: &QuotaState,
    out: &Output,
) -> Vec<KeyBudget> {
    let vt = &settings.virustotal;
    let mut budgets: Vec<KeyBudget> = vt
        .api_keys
        .iter()
        .enumerate()
        .map(|(i, k)| KeyBudget {
            key: format!("key #{} ({})", i + 1, k.masked()),
            per_minute: vt.requests_per_minute,
            daily_quota: vt.daily_quota,
            used_today: state.used_today(k),
        })
        .collect();
    if !vt.query_quota || vt.api_keys.is_empty() {
        return budgets;
    }
    let client = match vt::client::Client::new(vt, &settings.network) {
        Ok(c) => c,
        Err(e) => {
            out.warn(&format!(
                "cannot ask VirusTotal for the keys' quota ({e}); using the quota state file"
            ));
            return budgets;
        }
    };
    for (b, k) in budgets.iter_mut().zip(&vt.api_keys) {
        match client.daily_quota(k).await {
            Ok(q) => {
                b.daily_quota = u32::try_from(q.allowed).unwrap_or(u32::MAX);
                b.used_today = u32::try_from(q.used).unwrap_or(u32::MAX);
            }
            Err(e) => out.warn(&format!(
                "cannot read the daily quota of {} from VirusTotal ({e}); using the quota state file",
                b.key
            )),
        }
    }
    budgets
}

/// The requests one IOC needs with these settings.
pub(crate) fn requests_per_ioc(settings: &Settings) -> f64 {
    if settings.virustotal.reanalyse {
        plan::REQUESTS_PER_IOC_REANALYSE
    } else {
        plan::REQUESTS_PER_IOC_READ
    }
}

/// Write the run's results into the tool's columns; returns the rows to move to `Removed IOCs`.
fn apply_to_workbook(
    wb: &mut workbook::Workbook,
    tracking: &mut workbook::Tracking,
    rows: &[RowResult],
    tracked: &[TrackedRow],
    now: NaiveDateTime,
    settings: &Settings,
) -> Vec<edit::Removal> {
    edit::ensure_tool_columns(wb, tracking, &settings.workbook.columns);
    let c = tracking.columns.clone();
    let sheet = tracking.sheet;
    let mut removals = Vec::new();
    for (r, t) in rows.iter().zip(tracked) {
        let looked_up = matches!(
            r.lookup,
            Some(
                LookupStatus::Fresh
                    | LookupStatus::Current
                    | LookupStatus::Stale
                    | LookupStatus::NotFound
            )
        );
        if let (Some(score), Some(col), true) = (r.score, c.score, looked_up) {
            edit::set_cell(wb, sheet, t.index, col, CellValue::Number(f64::from(score)));
        }
        if let (true, Some(col)) = (looked_up, c.last_checked) {
            edit::set_cell(wb, sheet, t.index, col, CellValue::DateTime(now));
        }
        if let Some(col) = c.notes {
            edit::set_cell(wb, sheet, t.index, col, CellValue::String(r.note.clone()));
        }
        match r.action {
            Some(Action::Marked) => {
                if let Some(col) = c.status {
                    edit::set_cell(
                        wb,
                        sheet,
                        t.index,
                        col,
                        CellValue::String("Malicious".into()),
                    );
                }
            }
            Some(Action::Removed) => removals.push(edit::Removal {
                index: t.index,
                removed_on: now,
                score: r.score,
                reason: r.note.clone(),
            }),
            None => {}
        }
    }
    removals
}

async fn send_email(
    settings: &Settings,
    opts: &RunOptions,
    report: &Report,
    attachment: Option<&email::Attachment>,
    interrupted: bool,
    out: &Output,
) -> EmailResult {
    let mut result = EmailResult {
        to: settings.email.to.clone(),
        ..EmailResult::default()
    };
    if let EmailMode::Off(why) = &opts.email {
        result.skipped = Some(why.clone());
        return result;
    }
    if interrupted {
        result.skipped = Some("interrupted".into());
        return result;
    }
    if !email::should_send(report, &settings.email) {
        result.skipped = Some("nothing flagged".into());
        return result;
    }
    let msg = match email::compose(report, &settings.email, attachment) {
        Ok(m) => m,
        Err(e) => {
            out.error(&e);
            result.error = Some(e.to_string());
            return result;
        }
    };
    match &opts.email {
        EmailMode::Eml(path) => match email::write_eml(&msg, path) {
            Ok(()) => result.eml = Some(path.clone()),
            Err(e) => {
                out.error(&e);
                result.error = Some(e.to_string());
            }
        },
        EmailMode::Smtp => match email::send(&msg, &settings.email).await {
            Ok(_) => result.sent = true,
            Err(e) => {
                out.error(&e);
                result.error = Some(e.to_string());
            }
        },
        EmailMode::Off(_) => {}
    }
    result
}

/// The flagged IOCs as a table for the terminal: type, IOC defanged, score, malware, analyst,
/// EDR verdicts.
fn flagged_table(rows: &[RowResult], settings: &Settings) -> String {
    let groups: Vec<&str> = settings
        .rules
        .edr_groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    let mut header = vec![
        "Row".to_string(),
        "Type".into(),
        "IOC".into(),
        "Score".into(),
        "Malware".into(),
        "Analyst".into(),
    ];
    header.extend(groups.iter().map(|g| g.to_string()));
    let mut table = vec![header];
    for r in rows.iter().filter(|r| r.is_flagged()) {
        let mut line = vec![
            r.row.to_string(),
            r.ioc
                .as_ref()
                .map(|i| i.kind().label().to_string())
                .unwrap_or_default(),
            r.ioc
                .as_ref()
                .map(Ioc::defanged)
                .unwrap_or_else(|| r.raw_value.clone()),
            r.score.map(|s| s.to_string()).unwrap_or_default(),
            r.malware.clone(),
            r.analyst.clone(),
        ];
        let is_file = r.ioc.as_ref().is_some_and(|i| i.kind().is_hash());
        for g in &groups {
            // the EDR rule is about files; for other kinds the engines' verdicts do not apply
            line.push(match (is_file, r.verdicts.get(*g)) {
                (false, _) => "-".into(),
                (true, Some(v)) => v.cell(),
                (true, None) => "Not present".into(),
            });
        }
        table.push(line);
    }
    let n = table.len() - 1;
    format!(
        "{n} IOC{} flagged:\n{}",
        if n == 1 { "" } else { "s" },
        crate::output::render_table(&table)
    )
}

fn json_view<'a>(
    report: &'a Report,
    files: &'a Files,
    email: &'a EmailResult,
    interrupted: bool,
    dry_run: bool,
) -> JsonRun<'a> {
    JsonRun {
        counts: &report.counts,
        iocs: report
            .rows
            .iter()
            .map(|r| JsonIoc {
                sheet: &r.sheet,
                row: r.row,
                value: r
                    .ioc
                    .as_ref()
                    .map(|i| i.value().to_string())
                    .unwrap_or_else(|| r.raw_value.clone()),
                kind: r.ioc.as_ref().map(|i| i.kind().as_str()),
                score: r.score,
                previous_score: r.previous_score,
                flagged: r.is_flagged(),
                disposition: r.disposition,
                action: r.action,
                verdicts: &r.verdicts,
                link: r.link.as_deref(),
                note: &r.note,
            })
            .collect(),
        files,
        email,
        requests: report.total_requests,
        keys: &report.keys,
        interrupted,
        dry_run,
    }
}

fn summary_text(report: &Report, files: &Files, email: &EmailResult) -> String {
    let c = &report.counts;
    let mut s = format!(
        "{} rows: {} checked, {} flagged, {} covered by EDR, {} already Malicious, {} not found, {} invalid, {} not checked; {} requests",
        c.rows,
        c.checked,
        c.flagged,
        c.covered_by_edr,
        c.already_malicious,
        c.not_found,
        c.invalid,
        c.not_checked,
        report.total_requests
    );
    if c.removed > 0 {
        s.push_str(&format!(
            "\n{} removed from tracking (sheet `Removed IOCs`)",
            c.removed
        ));
    }
    if c.marked > 0 {
        s.push_str(&format!("\n{} marked Malicious", c.marked));
    }
    let mut line = |label: &str, p: &Option<PathBuf>| {
        if let Some(p) = p {
            s.push_str(&format!("\n{label:<9} {}", p.display()));
        }
    };
    line("workbook:", &files.workbook);
    line("backup:", &files.backup);
    line("report:", &files.report);
    line("email:", &files.eml);
    line("journal:", &files.journal);
    if email.sent {
        s.push_str(&format!("\nemail:    sent to {}", email.to.join(", ")));
    } else if let Some(e) = &email.error {
        s.push_str(&format!("\nemail:    FAILED: {e}"));
    } else if let Some(why) = &email.skipped {
        s.push_str(&format!("\nemail:    not sent ({why})"));
    }
    s
}
