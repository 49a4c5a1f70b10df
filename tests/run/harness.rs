//! The harness of `tests/run.rs`: a temp folder with a fixture workbook and a config file, the
//! VirusTotal simulator started in-process on 127.0.0.1 (time-compressed 100×), the binary run
//! with `-c` against it, and the workbook read back with calamine as absolute grids (values and
//! formulas per sheet) so that tests can compare every cell. It decides nothing about what a run
//! should do: the expectations live in the tests.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use calamine::{Data, Reader, SheetVisible};
use ioc_tracker::vt::sim::{
    EngineSet, Fault, Scenario, SimCounts, SimHandle, SimIoc, SimKey, Simulator,
};

use crate::common::{self, C};

/// The test key (not a real VirusTotal key).
pub const KEY: &str = "runkey0000000000000000000000000000000000000000000000000000000r1n";

pub const URL_1: &str = "https://payload.example.net/a?b=1";
pub const URL_2: &str = "http://login-portal.example.test/verify.php";

/// The simulator's profiles for [`tracking`]'s IOCs (normalised values).
/// `failing` adds 198.51.100.9, which always gets 500.
pub fn tracking_iocs(failing: bool) -> Vec<SimIoc> {
    let p = |value: &str, before: u32, after: u32| SimIoc {
        value: value.into(),
        before,
        after,
        ..SimIoc::default()
    };
    let mut covered = p(common::SHA256_1, 30, 32);
    covered.extra_engines = vec!["FireEye".into()];
    covered.detected_by = vec!["FireEye".into(), "TrellixENS".into()];
    let mut not_found = p("203.0.113.7", 0, 0);
    not_found.not_found = true;
    let mut mcafee = p(common::MD5_5, 1, 6);
    mcafee.engines = EngineSet::Legacy;
    mcafee.detected_by = vec!["McAfee".into()];
    let mut v = vec![
        covered,
        p("evil.example.com", 2, 9),
        p(URL_1, 3, 2),
        not_found,
        p(common::MD5_2, 20, 20),
        mcafee,
        p(URL_2, 0, 0),
    ];
    if failing {
        let mut f = p("198.51.100.9", 0, 0);
        f.fault = Some(Fault::Always5xx);
        v.push(f);
    }
    v
}

/// The tracking sheet's header: the seven columns, then "Ticket" and "Comment".
pub const TRACKING_HEADER: [&str; 9] = [
    "Date",
    "Name of Analyst",
    "Malware Name",
    "IOC",
    "IOC Value",
    "Current Score",
    "Status",
    "Ticket",
    "Comment",
];

/// A realistic analyst workbook for `run`: sheet "Read me" (text), sheet "IOC Tracking"
/// (`TRACKING_HEADER` on row 1) and a hidden sheet "Lookups".
///
/// | row | IOC | IOC Value | Status | expected |
/// | --- | --- | --- | --- | --- |
/// | 2 | SHA256 | SHA256_1 upper-case | Active | covered by EDR (32) |
/// | 3 | Domain | `evil[.]example.com` | Active | flagged (9, 2 before re-analysis) |
/// | 4 | (blank row) | | | untouched |
/// | 5 | URL | `hxxps://payload[.]example.net/a?b=1` (score "N/A") | Monitoring | below (2) |
/// | 6 | IP | `203.0.113.7` | Monitoring | not found |
/// | 7 | IP | `999.1.1.1` | Monitoring | invalid |
/// | 8 | SHA256 | SHA256_1 | Active | duplicate of row 2: covered |
/// | 9 | MD5 | MD5_2 | Malicious | already Malicious (20) |
/// | 10 | Domain | ` Evil.Example.com. ` | Active | duplicate of row 3: flagged |
/// | 11 | IP | `198.51.100[.]9` (only with `failing`) | Monitoring | not checked (always 500) |
/// | 11/12 | MD5 | MD5_5 | Active | flagged (6), legacy engines, McAfee only |
/// | 12/13 | URL | `hxxp://login-portal[.]example[.]test/verify.php` | Active | below (0) |
///
/// Column I ("Comment") holds a formula on row 2 and text elsewhere; H ("Ticket") the text
/// `000959` on row 2.
#[rustfmt::skip]
pub fn tracking(path: &Path, failing: bool) {
    use C::*;
    use common::{date, datetime};
    let mut wb = rust_xlsxwriter::Workbook::new();
    let readme = wb.add_worksheet().set_name("Read me").unwrap();
    common::put_rows(readme, 0, 0, &[vec![S("IOC tracking for the SOC")], vec![S("Rows are reviewed weekly."), N(42.0)]]);
    let ws = wb.add_worksheet().set_name("IOC Tracking").unwrap();
    let sha256_upper: &'static str = common::SHA256_1.to_uppercase().leak();
    let mut rows: Vec<Vec<C>> = vec![
        TRACKING_HEADER.iter().map(|h| S(h)).collect(),
        vec![D(datetime(2024, 1, 15, 9, 30)), S("A. Rivera"), S("Emotet"), S("SHA256"), S(sha256_upper), N(12.0), S("Active"), S("000959"), F("=LEN(E2)", "64")],
        vec![D(date(2024, 1, 16)), S("J. Chen"), S("Emotet"), S("Domain"), S("evil[.]example.com"), N(5.0), S("Active"), S("INC-2"), S("C2 domain")],
        vec![],
        vec![D(date(2024, 2, 1)), S("J. Chen"), S("QakBot"), S("URL"), S("hxxps://payload[.]example.net/a?b=1"), S("N/A"), S("Monitoring"), S("INC-3")],
        vec![D(date(2024, 2, 1)), S("J. Chen"), S("QakBot"), S("IP"), S("203.0.113.7"), N(0.0), S("Monitoring"), S("INC-3")],
        vec![D(date(2024, 2, 2)), S("S. Okafor"), S("Unknown"), S("IP"), S("999.1.1.1"), Blank, S("Monitoring")],
        vec![D(date(2024, 2, 3)), S("S. Okafor"), S("Emotet"), S("SHA256"), S(common::SHA256_1), N(12.0), S("Active"), S("INC-4")],
        vec![D(date(2024, 2, 4)), S("S. Okafor"), S("AgentTesla"), S("MD5"), S(common::MD5_2), N(18.0), S("Malicious"), S("INC-5")],
        vec![D(date(2024, 2, 7)), S("A. Rivera"), S("Emotet"), S("Domain"), S(" Evil.Example.com. "), N(5.0), S("Active")],
    ];
    if failing {
        rows.push(vec![D(date(2024, 2, 8)), S("A. Rivera"), S("RedLine"), S("IP"), S("198.51.100[.]9"), N(2.0), S("Monitoring")]);
    }
    rows.push(vec![D(date(2024, 2, 9)), S("J. Chen"), S("Remcos"), S("MD5"), S(common::MD5_5), N(1.0), S("Active"), S("INC-7")]);
    rows.push(vec![D(date(2024, 2, 9)), S("J. Chen"), S("Remcos"), S("URL"), S("hxxp://login-portal[.]example[.]test/verify.php"), N(0.0), S("Active"), S("INC-7")]);
    common::put_rows(ws, 0, 0, &rows);
    let lookups = wb.add_worksheet().set_name("Lookups").unwrap();
    common::put_rows(lookups, 0, 0, &[vec![S("Kinds")], vec![S("SHA256")], vec![S("Domain")]]);
    lookups.set_hidden(true);
    wb.save(path).unwrap();
}

/// One test's world: the folder, the workbook, the config and the simulator.
pub struct Case {
    pub dir: tempfile::TempDir,
    pub workbook: PathBuf,
    pub config: PathBuf,
    pub sim: SimHandle,
    /// the workbook's bytes before the run
    pub original: Vec<u8>,
}

pub fn scenario(iocs: Vec<SimIoc>) -> Scenario {
    Scenario {
        keys: vec![SimKey {
            key: KEY.into(),
            requests_per_minute: None,
            daily_quota: None,
        }],
        requests_per_minute: 600,
        time_scale: 100.0,
        iocs,
        ..Scenario::default()
    }
}

impl Case {
    /// Start the simulator with `iocs`, write the workbook with `build` and a config whose
    /// `[virustotal]` points at the simulator, followed by `extra` (more TOML sections).
    pub async fn start(iocs: Vec<SimIoc>, build: impl FnOnce(&Path), extra: &str) -> Case {
        let sim = Simulator::start(scenario(iocs)).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let workbook = dir.path().join("ioc_tracking.xlsx");
        build(&workbook);
        let config = dir.path().join("ioc-tracker.toml");
        std::fs::write(
            &config,
            format!(
                "[virustotal]\nbase_url = \"{}\"\nrequests_per_minute = 600\ntime_scale = 100.0\npoll_timeout = \"1s\"\nrate_limit_wait = \"300ms\"\nrequest_timeout = \"2s\"\n\n{extra}",
                sim.base_url()
            ),
        )
        .unwrap();
        let original = std::fs::read(&workbook).unwrap();
        Case {
            dir,
            workbook,
            config,
            sim,
            original,
        }
    }

    /// The tracking fixture, with or without the failing IOC.
    pub async fn tracking(failing: bool, extra: &str) -> Case {
        Case::start(tracking_iocs(failing), |p| tracking(p, failing), extra).await
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The command: `-c config`, the key in the environment, the folder as working directory.
    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("ioc-tracker").unwrap();
        for var in [
            "IOC_TRACKER_CONFIG",
            "IOC_TRACKER_VT_BASE_URL",
            "IOC_TRACKER_SMTP_PASSWORD",
            "IOC_TRACKER_SMTP_OAUTH_TOKEN",
            "NO_COLOR",
        ] {
            c.env_remove(var);
        }
        c.env("IOC_TRACKER_VT_KEYS", KEY)
            .current_dir(self.dir.path())
            .arg("-c")
            .arg(&self.config)
            .timeout(Duration::from_secs(40));
        c
    }

    /// `ioc-tracker -c config run --workbook WB <args>` with extra environment.
    pub async fn run(&self, args: &[&str], env: &[(String, String)]) -> Output {
        let mut c = self.cmd();
        for (k, v) in env {
            c.env(k, v);
        }
        c.arg("run")
            .arg("--workbook")
            .arg(&self.workbook)
            .args(args);
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    }

    pub fn counts(&self) -> SimCounts {
        self.sim.counts()
    }

    /// Every file under the folder (relative paths, sorted), the config included.
    pub fn files(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            out.push(p.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// One sheet read back with calamine at absolute positions (A1 = [0][0]).
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub visible: bool,
    pub values: Vec<Vec<Data>>,
    pub formulas: Vec<Vec<String>>,
}

impl Sheet {
    pub fn cell(&self, row: usize, col: usize) -> &Data {
        self.values
            .get(row)
            .and_then(|r| r.get(col))
            .unwrap_or(&Data::Empty)
    }

    /// Set a cell, growing the grid (trailing empties are trimmed by [`Sheet::normalise`]).
    pub fn set(&mut self, row: usize, col: usize, v: Data) {
        if self.values.len() <= row {
            self.values.resize(row + 1, Vec::new());
        }
        let r = &mut self.values[row];
        if r.len() <= col {
            r.resize(col + 1, Data::Empty);
        }
        r[col] = v;
    }

    /// Trailing empty cells and rows removed, so grids compare by content.
    pub fn normalise(&mut self) {
        for r in &mut self.values {
            while r.last() == Some(&Data::Empty) {
                r.pop();
            }
        }
        while self.values.last().is_some_and(|r| r.is_empty()) {
            self.values.pop();
        }
        for r in &mut self.formulas {
            while r.last().is_some_and(|f| f.is_empty()) {
                r.pop();
            }
        }
        while self.formulas.last().is_some_and(|r| r.is_empty()) {
            self.formulas.pop();
        }
    }
}

/// Every sheet of a workbook, in order.
pub fn read_sheets(path: &Path) -> Vec<Sheet> {
    let mut wb = calamine::open_workbook_auto(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let meta: Vec<(String, bool)> = wb
        .sheets_metadata()
        .iter()
        .map(|s| (s.name.clone(), s.visible == SheetVisible::Visible))
        .collect();
    meta.into_iter()
        .map(|(name, visible)| {
            let range = wb.worksheet_range(&name).unwrap();
            let mut values = Vec::new();
            if let Some((r0, c0)) = range.start() {
                for (r, row) in range.rows().enumerate() {
                    for (c, v) in row.iter().enumerate() {
                        let (r, c) = (r0 as usize + r, c0 as usize + c);
                        if values.len() <= r {
                            values.resize(r + 1, Vec::new());
                        }
                        let line: &mut Vec<Data> = &mut values[r];
                        if line.len() <= c {
                            line.resize(c + 1, Data::Empty);
                        }
                        line[c] = v.clone();
                    }
                }
            }
            let f = wb.worksheet_formula(&name).unwrap();
            let mut formulas = Vec::new();
            if let Some((r0, c0)) = f.start() {
                for (r, row) in f.rows().enumerate() {
                    for (c, v) in row.iter().enumerate() {
                        let (r, c) = (r0 as usize + r, c0 as usize + c);
                        if formulas.len() <= r {
                            formulas.resize(r + 1, Vec::new());
                        }
                        let line: &mut Vec<String> = &mut formulas[r];
                        if line.len() <= c {
                            line.resize(c + 1, String::new());
                        }
                        line[c] = v.clone();
                    }
                }
            }
            let mut s = Sheet {
                name,
                visible,
                values,
                formulas,
            };
            s.normalise();
            s
        })
        .collect()
}

/// A text cell.
pub fn s(v: &str) -> Data {
    Data::String(v.into())
}

/// A number cell.
pub fn n(v: f64) -> Data {
    Data::Float(v)
}
