//! `ioc-tracker check IOC… | -`: ad-hoc lookups without a workbook. Values come from the
//! arguments or, for `-`, one per line from stdin (blank lines and `#` comments skipped; defanged
//! forms accepted). Invalid values are listed with their problem and never sent. Prints a table
//! (kind, score, EDR verdicts, VirusTotal link, note) or, with `--json`, an array of
//! `{"value","kind","score","verdicts","link","note"}` in input order.
//!
//! Exit codes: 0 every value checked; 1 some not checked (invalid, failed, no quota);
//! 2 usage error or no API key; 130 interrupted.

use std::io::BufRead;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{AppError, ExitCode};
use crate::cli::CheckArgs;
use crate::config::Settings;
use crate::ioc::Ioc;
use crate::output::Output;
use crate::rules::{Verdict, Verdicts, group_verdicts};
use crate::vt::progress::LookupBar;
use crate::vt::{LookupOptions, LookupStatus, Outcome, VtError, gui_link, lookup_all, status_note};

/// One line of `check --json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckRow {
    /// the normalised value (as typed when invalid)
    pub value: String,
    /// md5, sha1, sha256, domain, ip, url; null when invalid
    pub kind: Option<String>,
    /// null when no score could be had
    pub score: Option<u32>,
    /// by EDR group; empty when VirusTotal gave no engine results
    pub verdicts: Verdicts,
    pub link: Option<String>,
    pub note: String,
}

pub async fn check(
    settings: &Settings,
    args: &CheckArgs,
    out: &Output,
) -> Result<ExitCode, AppError> {
    let raw = gather(&args.iocs)?;
    if raw.is_empty() {
        return Err(AppError::Usage(
            "no IOC given: pass values as arguments, or `-` and one per line on stdin".into(),
        ));
    }
    if settings.virustotal.api_keys.is_empty() {
        return Err(AppError::Vt(VtError::NoKeys));
    }
    let parsed: Vec<Result<Ioc, String>> = raw
        .iter()
        .map(|r| Ioc::parse(r, None).map_err(|e| e.to_string()))
        .collect();
    let valid: Vec<Ioc> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().cloned())
        .collect();

    let cancel = CancellationToken::new();
    let watcher = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        })
    };
    let unique = {
        let mut v = valid.clone();
        v.sort();
        v.dedup();
        v.len()
    };
    let bar = LookupBar::new(out, unique);
    let run = if valid.is_empty() {
        None
    } else {
        let opts = LookupOptions {
            cancel: cancel.clone(),
            progress: Some(bar.callback()),
            ..LookupOptions::default()
        };
        Some(lookup_all(&valid, settings, opts).await?)
    };
    bar.finish();
    watcher.abort();

    let mut outcomes = run
        .as_ref()
        .map(|r| r.outcomes.iter())
        .into_iter()
        .flatten();
    let mut rows = Vec::with_capacity(raw.len());
    let mut all_checked = true;
    let mut interrupted = false;
    for (r, p) in raw.iter().zip(&parsed) {
        match p {
            Err(problem) => {
                all_checked = false;
                rows.push(CheckRow {
                    value: r.clone(),
                    kind: None,
                    score: None,
                    verdicts: Verdicts::new(),
                    link: None,
                    note: format!("invalid: {problem}; not sent"),
                });
            }
            Ok(ioc) => {
                let o = outcomes.next().expect("one outcome per valid IOC");
                match o.status {
                    LookupStatus::Failed(_) | LookupStatus::NoQuota => all_checked = false,
                    LookupStatus::Interrupted => {
                        all_checked = false;
                        interrupted = true;
                    }
                    _ => {}
                }
                rows.push(row(ioc, o, settings));
            }
        }
    }
    if let Some(run) = &run {
        for w in &run.warnings {
            out.warn(w);
        }
    }
    if out.json {
        out.result_json(&rows);
    } else {
        print_table(&rows, settings, out);
        if let Some(run) = &run {
            out.info(&format!(
                "{} request{} ({})",
                run.total_requests,
                if run.total_requests == 1 { "" } else { "s" },
                run.keys
                    .iter()
                    .map(|k| format!("{}: {} {}", k.key, k.requests, k.state))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(if interrupted {
        ExitCode::Interrupted
    } else if all_checked {
        ExitCode::Ok
    } else {
        ExitCode::Partial
    })
}

/// The values from the arguments, `-` expanded to stdin's lines.
fn gather(args: &[String]) -> Result<Vec<String>, AppError> {
    let mut out = Vec::new();
    for a in args {
        if a == "-" {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let line = line.map_err(|source| AppError::Io {
                    context: "reading IOCs from stdin".into(),
                    source,
                })?;
                let t = line.trim();
                if !t.is_empty() && !t.starts_with('#') {
                    out.push(t.to_string());
                }
            }
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}

fn row(ioc: &Ioc, o: &Outcome, settings: &Settings) -> CheckRow {
    let verdicts = if o.engines.is_empty() {
        Verdicts::new()
    } else {
        group_verdicts(&o.engines, &settings.rules.edr_groups)
    };
    let mut note = status_note(&o.status, &settings.virustotal);
    if note.is_empty() {
        note = "re-analysed".into();
    }
    CheckRow {
        value: ioc.value().to_string(),
        kind: Some(ioc.kind().as_str().to_string()),
        score: o.score,
        verdicts,
        link: Some(gui_link(ioc)),
        note,
    }
}

fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Detected { result, .. } => match result {
            Some(r) => format!("detected ({r})"),
            None => "detected".into(),
        },
        Verdict::NotDetected { .. } => "not detected".into(),
        Verdict::NotPresent => "not present".into(),
    }
}

fn print_table(rows: &[CheckRow], settings: &Settings, out: &Output) {
    let groups: Vec<&str> = settings
        .rules
        .edr_groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    let mut header = vec!["IOC".to_string(), "KIND".into(), "SCORE".into()];
    header.extend(groups.iter().map(|g| g.to_string()));
    header.extend(["LINK".to_string(), "NOTE".into()]);
    let mut table = vec![header];
    for r in rows {
        let shown = match &r.kind {
            Some(_) => crate::ioc::defang(&r.value),
            None => r.value.clone(),
        };
        let mut line = vec![
            shown,
            r.kind.clone().unwrap_or_else(|| "-".into()),
            r.score.map_or("-".into(), |s| s.to_string()),
        ];
        line.extend(
            groups
                .iter()
                .map(|g| r.verdicts.get(*g).map_or("-".to_string(), verdict_text)),
        );
        line.push(r.link.clone().unwrap_or_else(|| "-".into()));
        line.push(r.note.clone());
        table.push(line);
    }
    let cols = table[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            table
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for l in &table {
        let text: Vec<String> = l
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if c + 1 == cols {
                    cell.clone()
                } else {
                    format!("{cell:<w$}", w = widths[c])
                }
            })
            .collect();
        out.result(text.join("  ").trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vt::{EngineResult, EngineResults};

    #[test]
    fn json_row_has_the_documented_shape() {
        let s = Settings::defaults();
        let ioc = Ioc::parse("44d88612fea8a8f36de82e1278abb02f", None).unwrap();
        let mut engines = EngineResults::new();
        engines.insert(
            "TrellixENS".into(),
            EngineResult {
                category: "malicious".into(),
                result: Some("EICAR test file".into()),
            },
        );
        let o = Outcome {
            status: LookupStatus::Fresh,
            score: Some(61),
            engines,
            analysed_at: None,
            requests: 2,
        };
        let v = serde_json::to_value(row(&ioc, &o, &s)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "value": "44d88612fea8a8f36de82e1278abb02f",
                "kind": "md5",
                "score": 61,
                "verdicts": {
                    "FireEye": {"verdict": "not_present"},
                    "McAfee": {"verdict": "detected", "engine": "TrellixENS", "result": "EICAR test file"}
                },
                "link": "https://www.virustotal.com/gui/file/44d88612fea8a8f36de82e1278abb02f",
                "note": "re-analysed"
            })
        );
    }
}
