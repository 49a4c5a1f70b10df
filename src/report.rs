//! The run's Report: one `RowResult` per workbook row that holds an IOC, in input order, each
//! with its disposition and the note that explains it, plus the counts. Pure: built by `app`,
//! read by the workbook writer, the report workbook, `--json` and the email.

use chrono::{DateTime, Local};
use serde::Serialize;

use crate::ioc::Ioc;
use crate::rules::Verdicts;
use crate::vt::LookupStatus;

/// What happened to a flagged row after the analyst's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// moved from the tracking sheet to `Removed IOCs`
    Removed,
    /// Status set to `Malicious`
    Marked,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Removed => "removed",
            Action::Marked => "marked",
        }
    }
}

/// How a row ended, before the decision. The note gives the details in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// score ≥ threshold: asks for a decision
    Flagged,
    /// score < threshold
    BelowThreshold,
    /// a file both EDR groups detect: not flagged
    CoveredByEdr,
    /// Status already Malicious, re-scored but not flagged (without `--realert`)
    AlreadyMalicious,
    /// 404 from VirusTotal
    NotFound,
    /// the value is not a valid IOC; never sent
    Invalid,
    /// no score could be had (error, no quota, interrupted, deferred)
    NotChecked,
}

/// One workbook row that holds an IOC.
#[derive(Debug, Clone, Serialize)]
pub struct RowResult {
    /// sheet name
    pub sheet: String,
    /// the sheet's 1-based row number
    pub row: usize,
    /// the analyst's columns, as shown (dates as yyyy-mm-dd)
    pub date: String,
    pub analyst: String,
    pub malware: String,
    /// the `IOC` column as written
    pub declared_kind: String,
    /// the `IOC Value` cell as written
    pub raw_value: String,
    /// the normalised IOC; None when invalid
    pub ioc: Option<Ioc>,
    /// Current Score before this run
    pub previous_score: Option<f64>,
    /// the new score; None when none could be had
    pub score: Option<u32>,
    /// how the lookup ended; None for invalid rows
    pub lookup: Option<LookupStatus>,
    pub verdicts: Verdicts,
    /// VirusTotal GUI link
    pub link: Option<String>,
    pub disposition: Disposition,
    /// why it ended as it did, in words (the Notes cell)
    pub note: String,
    /// removed / marked, for flagged rows after the decision
    pub action: Option<Action>,
}

impl RowResult {
    pub fn is_flagged(&self) -> bool {
        self.disposition == Disposition::Flagged
    }
}

/// The run's counts (rows that hold an IOC).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub rows: usize,
    pub unique_iocs: usize,
    pub checked: usize,
    pub flagged: usize,
    pub below_threshold: usize,
    pub covered_by_edr: usize,
    pub already_malicious: usize,
    pub not_found: usize,
    pub invalid: usize,
    pub not_checked: usize,
    pub removed: usize,
    pub marked: usize,
}

/// Requests one key made, for the Summary sheet and `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct KeyUsage {
    /// `key #2 (abcd…wxyz)`
    pub key: String,
    pub requests: u64,
    /// "ok", "cooling", "out of quota", "rejected"
    pub state: String,
}

/// Everything a run found and did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub started: DateTime<Local>,
    pub finished: DateTime<Local>,
    pub threshold: u32,
    /// EDR group names in configured order ("FireEye", "McAfee")
    pub edr_groups: Vec<String>,
    pub rows: Vec<RowResult>,
    pub counts: Counts,
    pub keys: Vec<KeyUsage>,
    pub total_requests: u64,
}

impl Report {
    pub fn flagged(&self) -> impl Iterator<Item = &RowResult> {
        self.rows.iter().filter(|r| r.is_flagged())
    }
}

/// Build one `RowResult` per tracked row, in input order, with its disposition and note.
///
/// `parsed[i]` is the parse result of `rows[i]`; `outcomes` holds the lookup outcome of each
/// unique IOC that was looked up (or reused); an IOC with no outcome was deferred or never
/// reached, and gets `not_looked_up` as its note.
pub fn build_rows(
    sheet: &str,
    rows: &[crate::workbook::TrackedRow],
    parsed: &[Result<Ioc, String>],
    outcomes: &std::collections::HashMap<Ioc, crate::vt::Outcome>,
    not_looked_up: &str,
    settings: &crate::config::Settings,
) -> Vec<RowResult> {
    use crate::rules::{RuleInput, decide, group_verdicts};

    rows.iter()
        .zip(parsed)
        .map(|(row, parsed)| {
            let outcome = parsed.as_ref().ok().and_then(|ioc| outcomes.get(ioc));
            // EDR engines judge files: their verdicts are read for file hashes only
            let verdicts = outcome
                .filter(|_| parsed.as_ref().is_ok_and(|i| i.kind().is_hash()))
                .map(|o| group_verdicts(&o.engines, &settings.rules.edr_groups))
                .unwrap_or_default();
            let decision = decide(&RuleInput {
                ioc: match parsed {
                    Ok(ioc) => Ok(ioc.kind()),
                    Err(problem) => Err(problem.as_str()),
                },
                outcome,
                not_looked_up,
                verdicts: &verdicts,
                status: &row.status,
                threshold: settings.rules.threshold,
                realert: settings.rules.realert,
                poll_timeout: settings.virustotal.poll_timeout,
            });
            RowResult {
                sheet: sheet.to_string(),
                row: row.index + 1,
                date: row.date.clone(),
                analyst: row.analyst.clone(),
                malware: row.malware.clone(),
                declared_kind: row.declared_kind.clone(),
                raw_value: row.raw_value.clone(),
                ioc: parsed.as_ref().ok().cloned(),
                previous_score: row.score,
                score: outcome.and_then(|o| o.score),
                lookup: outcome.map(|o| o.status.clone()),
                verdicts,
                link: parsed.as_ref().ok().map(crate::vt::gui_link),
                disposition: decision.disposition,
                note: decision.note,
                action: None,
            }
        })
        .collect()
}

/// Count the rows' dispositions and actions.
pub fn count(rows: &[RowResult], unique_iocs: usize) -> Counts {
    let mut c = Counts {
        rows: rows.len(),
        unique_iocs,
        ..Counts::default()
    };
    for r in rows {
        match r.disposition {
            Disposition::Flagged => c.flagged += 1,
            Disposition::BelowThreshold => c.below_threshold += 1,
            Disposition::CoveredByEdr => c.covered_by_edr += 1,
            Disposition::AlreadyMalicious => c.already_malicious += 1,
            Disposition::NotFound => c.not_found += 1,
            Disposition::Invalid => c.invalid += 1,
            Disposition::NotChecked => c.not_checked += 1,
        }
        match r.action {
            Some(Action::Removed) => c.removed += 1,
            Some(Action::Marked) => c.marked += 1,
            None => {}
        }
    }
    c.checked = c.rows - c.invalid - c.not_checked;
    c
}
