//! The small harness of the reliability tests: a scenario and a config for the simulator, the
//! binary as a `std::process::Command`, the tracking sheet read back with calamine, and the
//! journal read back as JSON. No assertions of its own beyond "the file opens".
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use calamine::{Data, Reader};
use ioc_tracker::vt::sim::{Delays, Fault, Scenario, SimHandle, SimIoc, SimKey};
use serde_json::Value;

use crate::common::generated::GenRow;

/// A made-up key the simulator accepts (64 characters like a real one).
pub const KEY: &str = "reliab000000000000000000000000000000000000000000000000000000r1k1";

/// The tool's columns: the only ones a run may change in the tracking sheet.
pub const TOOL_COLUMNS: [&str; 4] = ["Current Score", "Status", "Last Checked", "Notes"];

/// A fast, time-compressed scenario with one profile per generated row.
pub fn scenario(rows: &[GenRow], profile: impl Fn(usize, &GenRow) -> SimIoc) -> Scenario {
    Scenario {
        keys: vec![SimKey {
            key: KEY.into(),
            requests_per_minute: None,
            daily_quota: None,
        }],
        requests_per_minute: 100_000,
        daily_quota: 1_000_000,
        time_scale: 1000.0,
        analysis_delays: Delays {
            file_ms: 25_000,
            url_ms: 10_000,
            host_ms: 4_000,
            jitter: 0.0,
        },
        gzip: true,
        iocs: rows
            .iter()
            .enumerate()
            .map(|(i, r)| profile(i, r))
            .collect(),
    }
}

/// The profile with a score before and after re-analysis and maybe a fault.
pub fn profile(value: &str, before: u32, after: u32, fault: Option<Fault>) -> SimIoc {
    SimIoc {
        value: value.into(),
        before,
        after,
        fault,
        ..SimIoc::default()
    }
}

/// A config file for the simulator; `extra` is appended under `[virustotal]`.
pub fn config(dir: &Path, sim: &SimHandle, time_scale: f64, extra: &str) -> PathBuf {
    config_rpm(dir, sim, time_scale, 100_000, extra)
}

/// [`config`] with this `requests_per_minute` per key (before `time_scale`).
pub fn config_rpm(dir: &Path, sim: &SimHandle, time_scale: f64, rpm: u32, extra: &str) -> PathBuf {
    let path = dir.join("ioc-tracker.toml");
    std::fs::write(
        &path,
        format!(
            "[virustotal]\nbase_url = \"{}\"\nrequests_per_minute = {rpm}\n{quota}time_scale = {time_scale:.1}\npoll_timeout = \"400ms\"\nrate_limit_wait = \"100ms\"\nrequest_timeout = \"10s\"\nmax_retries = 3\n{extra}\n",
            sim.base_url(),
            quota = if extra.contains("daily_quota") {
                ""
            } else {
                "daily_quota = 1000000\n"
            }
        ),
    )
    .unwrap();
    path
}

/// `ioc-tracker -c CFG run --workbook WB --yes --json ARGS`, with no config or key leaking in
/// from the environment.
pub fn run_cmd(cfg: &Path, wb: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ioc-tracker"));
    c.env_remove("IOC_TRACKER_CONFIG")
        .env_remove("IOC_TRACKER_VT_BASE_URL")
        .env_remove("IOC_TRACKER_LOG")
        .env_remove("RUST_LOG")
        .env("IOC_TRACKER_VT_KEYS", KEY)
        .env("NO_COLOR", "1")
        .arg("-c")
        .arg(cfg)
        .arg("run")
        .arg("--workbook")
        .arg(wb)
        .args(["--yes", "--json"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// What a finished run gave.
#[derive(Debug)]
pub struct Ran {
    pub code: Option<i32>,
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

pub fn finished(out: Output) -> Ran {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    Ran {
        code: out.status.code(),
        json,
        stdout,
        stderr,
    }
}

/// Run to the end in a blocking thread (the simulator lives on the test's runtime).
pub async fn run(cfg: &Path, wb: &Path, args: &[&str]) -> Ran {
    let mut c = run_cmd(cfg, wb, args);
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    finished(out)
}

/// `--json` `iocs` by 1-based sheet row.
pub fn by_row(json: &Value) -> HashMap<u64, Value> {
    json["iocs"]
        .as_array()
        .unwrap_or_else(|| panic!("no iocs in {json}"))
        .iter()
        .map(|i| (i["row"].as_u64().unwrap(), i.clone()))
        .collect()
}

/// A sheet as text cells (dates as their serial, numbers as `{}`), with its header row.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetText {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl SheetText {
    pub fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
    pub fn cell(&self, row: usize, name: &str) -> String {
        self.col(name)
            .and_then(|c| self.rows[row].get(c).cloned())
            .unwrap_or_default()
    }
}

fn text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => format!("{f}"),
        Data::Int(i) => format!("{i}"),
        Data::Bool(b) => format!("{b}"),
        Data::DateTime(t) => format!("date:{}", t.as_f64()),
        other => format!("{other:?}"),
    }
}

/// Open with calamine (the check "the workbook opens") and read one sheet.
pub fn read_sheet(path: &Path, sheet: &str) -> Result<SheetText, String> {
    let mut wb = calamine::open_workbook_auto(path).map_err(|e| e.to_string())?;
    let range = wb.worksheet_range(sheet).map_err(|e| e.to_string())?;
    let mut rows: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(text).collect()).collect();
    if rows.is_empty() {
        return Err(format!("sheet {sheet} is empty"));
    }
    let header = rows.remove(0);
    Ok(SheetText { header, rows })
}

/// The cells of every column that is not the tool's, keyed by header name.
pub fn non_tool_columns(s: &SheetText, row: usize) -> Vec<(String, String)> {
    s.header
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.is_empty() && !TOOL_COLUMNS.contains(&h.as_str()))
        .map(|(c, h)| (h.clone(), s.rows[row].get(c).cloned().unwrap_or_default()))
        .collect()
}

/// Every journal file of `wb`, oldest first, as JSON records.
pub fn journals(wb: &Path) -> Vec<(PathBuf, Vec<Value>)> {
    ioc_tracker::journal::journals(wb)
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let records = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            (p, records)
        })
        .collect()
}

/// Values whose final outcome (fresh, current, stale, not found) a journal holds.
pub fn final_outcomes(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["event"] == "outcome")
        .filter(|r| {
            matches!(
                r["outcome"]["status"]["status"].as_str(),
                Some("fresh" | "current" | "stale" | "not_found")
            )
        })
        .map(|r| r["value"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Files in `dir` (not recursive) whose name ends with `.tmp`.
pub fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// A small seeded generator (xorshift64*), so every random choice can be replayed from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
