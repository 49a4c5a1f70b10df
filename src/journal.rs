//! The run journal: every VirusTotal outcome appended (JSON lines, flushed and synced per record)
//! the moment it arrives, so a crash, Ctrl-C or reboot never spends the day's quota twice; and the
//! audit trail of each run (started with a settings digest, outcomes, the decision, rows removed,
//! files written, email sent, finished).
//!
//! Location: `<workbook folder>/.ioc-tracker/journal/<workbook file name>/<run id>.jsonl`, one file
//! per run. Retention: journals older than [`KEEP_DAYS`] days are deleted when a run starts.
//! Resume: when the newest journal of a workbook did not finish `complete`, its reusable outcomes
//! younger than `resume_max_age` are taken and only the rest is looked up. No secret is written:
//! the settings digest is a SHA-256 over the settings with secrets masked.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ioc::IocKind;
use crate::vt::{LookupStatus, Outcome};

/// Journals older than this many days are deleted at the start of a run.
pub const KEEP_DAYS: i64 = 90;

/// Why the journal could not be written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "cannot write the run journal {path}: {source}; check that the workbook's folder is writable"
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// when it was written
    pub t: DateTime<Utc>,
    /// the run id
    pub run: String,
    #[serde(flatten)]
    pub event: Event,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Started {
        version: String,
        workbook: String,
        /// SHA-256 of the settings with secrets masked
        settings_digest: String,
        unique_iocs: usize,
    },
    Outcome {
        kind: IocKind,
        value: String,
        outcome: Outcome,
        /// taken from an unfinished earlier run's journal, not looked up again
        #[serde(default)]
        reused: bool,
    },
    Decision {
        /// "--yes", "--no", "analyst", "default (no terminal)"
        who: String,
        /// "remove" or "mark"; None when nothing was flagged
        answer: Option<String>,
        flagged: usize,
    },
    RowsRemoved {
        /// the sheet's 1-based row numbers before removal
        rows: Vec<usize>,
    },
    FileWritten {
        what: String,
        path: String,
    },
    Email {
        to: Vec<String>,
        result: String,
    },
    Finished {
        /// "complete", "partial", "interrupted", "dry-run"
        status: String,
    },
}

/// An open journal for this run.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    run: String,
}

/// `<folder>/.ioc-tracker/journal/<workbook file name>/`
pub fn journal_dir(workbook: &Path) -> PathBuf {
    let folder = workbook
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = workbook
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    folder.join(".ioc-tracker").join("journal").join(name)
}

/// A sortable run id: `20261204T160512Z-1234`.
pub fn new_run_id(now: DateTime<Utc>) -> String {
    format!("{}-{}", now.format("%Y%m%dT%H%M%SZ"), std::process::id())
}

impl Journal {
    /// Create this run's journal file.
    pub fn create(workbook: &Path, run: &str) -> Result<Journal, JournalError> {
        let dir = journal_dir(workbook);
        let path = dir.join(format!("{run}.jsonl"));
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        Ok(Journal {
            file,
            path,
            run: run.to_string(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn run_id(&self) -> &str {
        &self.run
    }

    /// Append one event, flushed and synced before returning.
    pub fn append(&mut self, event: Event) -> Result<(), JournalError> {
        let record = Record {
            t: Utc::now(),
            run: self.run.clone(),
            event,
        };
        let mut line = serde_json::to_string(&record).unwrap_or_default();
        line.push('\n');
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

/// Read every record of a journal file, skipping a torn last line (a crash mid-write).
pub fn read_records(path: &Path) -> Vec<Record> {
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str(&line).ok())
        .collect()
}

/// The journal files of a workbook, oldest first.
pub fn journals(workbook: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(journal_dir(workbook)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

/// Outcomes of an unfinished previous run that may be reused: keyed by (kind, value).
pub type Reusable = HashMap<(IocKind, String), Outcome>;

/// Outcomes the newest journals hold when those runs did not finish `complete`: only final ones
/// (fresh, current, stale, not found) recorded within `max_age` of `now`. Walks back from the
/// newest journal through every unfinished one (a run killed before it re-recorded what it
/// reused must not hide the run before it), stopping at the first run that finished
/// `complete`; a newer outcome of the same IOC wins.
pub fn resumable(workbook: &Path, max_age: Duration, now: DateTime<Utc>) -> Reusable {
    let max_age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
    let mut reusable = Reusable::new();
    for path in journals(workbook).iter().rev() {
        let records = read_records(path);
        let finished_complete = records.iter().any(
            |r| matches!(&r.event, Event::Finished { status } if status == "complete" || status == "dry-run"),
        );
        if finished_complete {
            break;
        }
        // every record of this journal is older than max_age: so are the older journals'
        if records.last().is_some_and(|r| now - r.t > max_age) {
            break;
        }
        for r in records {
            if now - r.t > max_age {
                continue;
            }
            if let Event::Outcome {
                kind,
                value,
                outcome,
                ..
            } = r.event
                && is_reusable(&outcome.status)
            {
                reusable.entry((kind, value)).or_insert(outcome);
            }
        }
    }
    reusable
}

fn is_reusable(status: &LookupStatus) -> bool {
    matches!(
        status,
        LookupStatus::Fresh | LookupStatus::Current | LookupStatus::Stale | LookupStatus::NotFound
    )
}

/// Delete journals older than [`KEEP_DAYS`]; returns how many were removed.
pub fn prune(workbook: &Path, now: DateTime<Utc>) -> usize {
    let cutoff = now - chrono::Duration::days(KEEP_DAYS);
    journals(workbook)
        .into_iter()
        .filter(|p| {
            read_records(p).last().is_none_or(|r| r.t < cutoff)
                && std::fs::metadata(p)
                    .and_then(|m| m.modified())
                    .map(|m| DateTime::<Utc>::from(m) < cutoff)
                    .unwrap_or(false)
        })
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count()
}

/// SHA-256 (hex, first 16 characters) of the settings as `--show-settings` shows them — secrets
/// masked — so the journal tells which settings a run used without holding any secret.
pub fn settings_digest(settings: &crate::config::Settings) -> String {
    use sha2::{Digest, Sha256};
    let text = serde_json::to_string(settings).unwrap_or_default();
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vt::EngineResults;

    fn outcome(status: LookupStatus, score: Option<u32>) -> Outcome {
        Outcome {
            status,
            score,
            engines: EngineResults::new(),
            analysed_at: None,
            requests: 2,
        }
    }

    fn record_outcome(j: &mut Journal, value: &str, status: LookupStatus) {
        j.append(Event::Outcome {
            kind: IocKind::Domain,
            value: value.into(),
            outcome: outcome(status, Some(3)),
            reused: false,
        })
        .unwrap();
    }

    #[test]
    fn a_run_killed_before_it_re_recorded_does_not_hide_the_run_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let wb = dir.path().join("ioc_tracking.xlsx");
        let mut done = Journal::create(&wb, "20261204T090000Z-1").unwrap();
        record_outcome(&mut done, "old.example", LookupStatus::Fresh);
        done.append(Event::Finished {
            status: "complete".into(),
        })
        .unwrap();
        let mut first = Journal::create(&wb, "20261204T100000Z-2").unwrap();
        record_outcome(&mut first, "a.example", LookupStatus::Fresh);
        // the second run was killed right after it started: nothing re-recorded
        let _second = Journal::create(&wb, "20261204T100500Z-3").unwrap();
        let got = resumable(&wb, Duration::from_secs(6 * 3600), Utc::now());
        let keys: Vec<_> = got.keys().map(|(_, v)| v.as_str()).collect();
        assert_eq!(
            keys,
            ["a.example"],
            "the complete run's outcomes are not reused"
        );
    }

    #[test]
    fn an_unfinished_run_is_resumed_with_its_final_outcomes_only() {
        let dir = tempfile::tempdir().unwrap();
        let wb = dir.path().join("ioc_tracking.xlsx");
        let mut j = Journal::create(&wb, "20261204T100000Z-1").unwrap();
        record_outcome(&mut j, "a.example", LookupStatus::Fresh);
        record_outcome(&mut j, "b.example", LookupStatus::Failed("HTTP 503".into()));
        record_outcome(&mut j, "c.example", LookupStatus::NotFound);
        record_outcome(&mut j, "d.example", LookupStatus::NoQuota);
        let got = resumable(&wb, Duration::from_secs(6 * 3600), Utc::now());
        let mut keys: Vec<_> = got.keys().map(|(_, v)| v.as_str()).collect();
        keys.sort();
        assert_eq!(keys, ["a.example", "c.example"]);
    }

    #[test]
    fn a_complete_run_is_not_resumed_and_old_outcomes_expire() {
        let dir = tempfile::tempdir().unwrap();
        let wb = dir.path().join("w.xlsx");
        let mut j = Journal::create(&wb, "20261204T100000Z-1").unwrap();
        record_outcome(&mut j, "a.example", LookupStatus::Fresh);
        let later = Utc::now() + chrono::Duration::hours(7);
        assert!(resumable(&wb, Duration::from_secs(6 * 3600), later).is_empty());
        j.append(Event::Finished {
            status: "complete".into(),
        })
        .unwrap();
        assert!(resumable(&wb, Duration::from_secs(6 * 3600), Utc::now()).is_empty());
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let wb = dir.path().join("w.xlsx");
        let mut j = Journal::create(&wb, "r1").unwrap();
        record_outcome(&mut j, "a.example", LookupStatus::Fresh);
        let path = j.path().to_path_buf();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"t":"2026-12-04T10:00:00Z","run":"r1","event":"outc"#)
            .unwrap();
        assert_eq!(read_records(&path).len(), 1);
        assert_eq!(
            resumable(&wb, Duration::from_secs(3600), Utc::now()).len(),
            1
        );
    }

    #[test]
    fn journal_sits_beside_the_workbook_per_workbook() {
        assert_eq!(
            journal_dir(Path::new("/data/ioc.xlsx")),
            PathBuf::from("/data/.ioc-tracker/journal/ioc.xlsx")
        );
        assert_eq!(
            journal_dir(Path::new("ioc.xlsx")),
            PathBuf::from("./.ioc-tracker/journal/ioc.xlsx")
        );
    }

    #[test]
    fn digest_holds_no_secret() {
        let mut s = crate::config::Settings::defaults();
        s.virustotal.api_keys = vec![crate::config::Secret::new("k".repeat(64))];
        let d = settings_digest(&s);
        assert_eq!(d.len(), 16);
        assert!(!d.contains("kkkk"));
    }
}
