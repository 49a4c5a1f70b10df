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
