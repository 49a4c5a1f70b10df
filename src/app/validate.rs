//! `ioc-tracker validate [--workbook PATH] [--json]`: read the workbook, parse every data row
//! of the tracking sheet into an IOC, and show each row's normalised value and kind or its
//! problem, plus counts.
//!
//! It also prints the quota plan a `run` would make — unique IOCs, outcomes an unfinished run
//! left to reuse, requests needed, each key's limits and what is left of its daily quota (from
//! the quota state file, or from VirusTotal's `/users/{key}/overall_quotas` with
//! `query_quota = true`: a quota read, never a lookup), the expected duration and what would be
//! deferred. Nothing is looked up and nothing is written.
//!
//! Exit 0 whenever the workbook can be read (invalid rows are reported, not fatal); a workbook
//! that cannot be read is a `WorkbookError` (exit 2). The table goes to stdout, the summary and
//! the plan to stderr; `--json` prints one document `{"rows":[…],"counts":{…},"plan":{…}}` on
//! stdout.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{AppError, ExitCode};
use crate::cli::ValidateArgs;
use crate::config::Settings;
use crate::ioc::{Ioc, IocKind};
use crate::journal;
use crate::output::Output;
use crate::plan;
use crate::quota::{self, QuotaState};
use crate::workbook::{self, Tracking, Workbook};

/// One data row of the tracking sheet as `validate` reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowCheck {
    /// sheet name
    pub sheet: String,
    /// the sheet's 1-based row number
    pub row: usize,
    /// the normalised value, or the raw text when invalid
    pub value: String,
    /// None when invalid
    pub kind: Option<IocKind>,
    /// None, or why the value is not a usable IOC
    pub problem: Option<String>,
    /// for a duplicate, the row number where the same IOC first appears
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<usize>,
}

/// The counts shown under the table and in `--json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    /// non-blank data rows
    pub rows: usize,
    pub valid: usize,
    pub invalid: usize,
    /// valid rows whose IOC already appeared on an earlier row (one lookup serves them all)
    pub duplicates: usize,
    /// distinct IOCs: the lookups a run would make
    pub unique: usize,
    /// valid rows per kind (every kind listed, zero included)
    pub by_kind: BTreeMap<IocKind, usize>,
    /// blank rows under the header, skipped (and kept in the workbook)
    pub blank_rows_skipped: usize,
}

/// What `validate` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validation {
    pub rows: Vec<RowCheck>,
    pub counts: Counts,
}

/// Parse every tracked row of the workbook. Pure.
pub fn check_rows(wb: &Workbook, t: &Tracking) -> Validation {
    let sheet = &wb.sheets[t.sheet];
    let mut counts = Counts {
        by_kind: [
            IocKind::Md5,
            IocKind::Sha1,
            IocKind::Sha256,
            IocKind::Domain,
            IocKind::Ip,
            IocKind::Url,
        ]
        .into_iter()
        .map(|k| (k, 0))
        .collect(),
        blank_rows_skipped: sheet
            .rows
            .iter()
            .skip(t.header_row + 1)
            .filter(|r| r.iter().all(|c| c.is_empty()))
            .count(),
        ..Counts::default()
    };
    let mut first_row: HashMap<Ioc, usize> = HashMap::new();
    let mut rows = Vec::new();
    for tracked in workbook::tracked_rows(wb, t) {
        let row = tracked.index + 1;
        counts.rows += 1;
        let check = match tracked.ioc() {
            Ok(ioc) => {
                counts.valid += 1;
                *counts.by_kind.entry(ioc.kind()).or_default() += 1;
                let duplicate_of = match first_row.get(&ioc) {
                    Some(&first) => {
                        counts.duplicates += 1;
                        Some(first)
                    }
                    None => {
                        first_row.insert(ioc.clone(), row);
                        None
                    }
                };
                RowCheck {
                    sheet: sheet.name.clone(),
                    row,
                    value: ioc.value().to_string(),
                    kind: Some(ioc.kind()),
                    problem: None,
                    duplicate_of,
                }
            }
            Err(problem) => {
                counts.invalid += 1;
                RowCheck {
                    sheet: sheet.name.clone(),
                    row,
                    value: tracked.raw_value.clone(),
                    kind: None,
                    problem: Some(problem),
                    duplicate_of: None,
                }
            }
        };
        rows.push(check);
    }
    counts.unique = first_row.len();
    Validation { rows, counts }
}

/// The human table, one line per row.
pub fn table(v: &Validation) -> Vec<String> {
    let width = v
        .rows
        .iter()
        .map(|r| r.row.to_string().len())
        .max()
        .unwrap_or(1)
        .max(3);
    let mut lines = vec![format!("{:>width$}  {:<7} VALUE / PROBLEM", "ROW", "KIND")];
    for r in &v.rows {
        let kind = r.kind.map_or("-", IocKind::as_str);
        let text = match (&r.problem, r.duplicate_of) {
            (Some(problem), _) => format!("invalid: {problem} (cell: {:?})", r.value),
            (None, Some(first)) => format!("{} (duplicate of row {first})", r.value),
            (None, None) => r.value.clone(),
        };
        lines.push(format!("{:>width$}  {:<7} {text}", r.row, kind));
    }
    lines
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The one-paragraph summary for stderr.
pub fn summary(wb: &Workbook, t: &Tracking, c: &Counts) -> String {
    let kinds: Vec<String> = c
        .by_kind
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{} {n}", k.as_str()))
        .collect();
    format!(
        "{}, sheet {:?} (header on row {}): {}, {} valid ({} to look up, {}), {} invalid, {} skipped{}",
        wb.path.display(),
        wb.sheets[t.sheet].name,
        t.header_row + 1,
        plural(c.rows, "row", "rows"),
        c.valid,
        c.unique,
        plural(c.duplicates, "duplicate", "duplicates"),
        c.invalid,
        plural(c.blank_rows_skipped, "blank row", "blank rows"),
        if kinds.is_empty() {
            String::new()
        } else {
            format!("; {}", kinds.join(", "))
        }
    )
}

/// `--json`: the validation and the plan.
#[derive(Serialize)]
struct JsonValidation<'a> {
    #[serde(flatten)]
    validation: &'a Validation,
    plan: PlanView<'a>,
}

/// The plan without the IOC lists (counts instead; the rows are listed above it).
#[derive(Serialize)]
struct PlanView<'a> {
    unique_iocs: usize,
    reused: usize,
    to_look_up: usize,
    deferred: usize,
    /// the deferred IOCs' values, most recently checked last
    deferred_iocs: Vec<&'a str>,
    requests_per_ioc: f64,
    requests_needed: u64,
    quota_left: u64,
    keys: &'a [plan::KeyBudget],
    #[serde(serialize_with = "crate::config::serialize_duration")]
    expected: std::time::Duration,
}

/// The plan a `run` would make now; reads the journal and the quota state, writes nothing.
pub async fn plan_for(
    settings: &Settings,
    path: &std::path::Path,
    wb: &Workbook,
    t: &Tracking,
    out: &Output,
) -> plan::Plan {
    let tracked = workbook::tracked_rows(wb, t);
    let parsed: Vec<Result<Ioc, String>> = tracked.iter().map(workbook::TrackedRow::ioc).collect();
    let unique = super::run::unique_iocs(&tracked, &parsed);
    let now = chrono::Utc::now();
    let reusable = journal::resumable(path, settings.virustotal.resume_max_age, now);
    let mut reused = 0;
    let mut to_look_up = Vec::new();
    for (ioc, last) in unique {
        if reusable.contains_key(&(ioc.kind(), ioc.value().to_string())) {
            reused += 1;
        } else {
            to_look_up.push((ioc, last));
        }
    }
    let state = QuotaState::load(&quota::state_path(path), quota::today_utc());
    let mut budgets = super::run::key_budgets(settings, &state, out).await;
    if budgets.is_empty() {
        // no key yet: plan with one key at the configured limits, and say a key is missing
        budgets.push(plan::KeyBudget {
            key: "(no key configured)".into(),
            per_minute: settings.virustotal.requests_per_minute,
            daily_quota: settings.virustotal.daily_quota,
            used_today: 0,
        });
    }
    let mut p = plan::make(
        to_look_up,
        reused,
        budgets,
        super::run::requests_per_ioc(settings),
    );
    p.expected = p.expected.div_f64(settings.virustotal.time_scale);
    p
}

pub async fn validate(
    settings: &Settings,
    args: &ValidateArgs,
    out: &Output,
) -> Result<ExitCode, AppError> {
    let path = args
        .workbook
        .clone()
        .unwrap_or_else(|| settings.workbook.path.clone());
    let (wb, tracking) = workbook::read(&path, &settings.workbook)?;
    let validation = check_rows(&wb, &tracking);
    let plan = plan_for(settings, &path, &wb, &tracking, out).await;
    if out.json {
        out.result_json(&JsonValidation {
            validation: &validation,
            plan: PlanView {
                unique_iocs: plan.unique_iocs,
                reused: plan.reused,
                to_look_up: plan.check.len(),
                deferred: plan.deferred.len(),
                deferred_iocs: plan.deferred.iter().map(Ioc::value).collect(),
                requests_per_ioc: plan.requests_per_ioc,
                requests_needed: plan.requests_needed,
                quota_left: plan.quota_left,
                keys: &plan.keys,
                expected: plan.expected,
            },
        });
    } else {
        for line in table(&validation) {
            out.result(&line);
        }
    }
    out.info(&summary(&wb, &tracking, &validation.counts));
    if settings.virustotal.api_keys.is_empty() && validation.counts.unique > 0 {
        out.info(&format!(
            "{}\n  no VirusTotal API key configured: set IOC_TRACKER_VT_KEYS or [virustotal] api_keys before `run`",
            plan
        ));
    } else {
        out.info(&plan.to_string());
    }
    Ok(ExitCode::Ok)
}
