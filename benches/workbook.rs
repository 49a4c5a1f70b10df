//! Benchmark of what `run` does with the workbook, on a generated 100,000-row tracking
//! workbook: read it (`workbook::read`: every sheet, header detection, tracking columns), turn
//! the data rows into `TrackedRow`s and parse each one's IOC (`TrackedRow::ioc`), then save it
//! back (`workbook::save`, atomic replace with backup). Prints wall and CPU time per phase and
//! the process's peak RSS (Linux `VmHWM`). No network, no VirusTotal: only the workbook layer
//! and IOC parsing. The original pandas + openpyxl tool takes about 35 s and 440 MB for the
//! read + write; the target is ≤ 1.5 s and ≤ 150 MB peak.
//!
//! Run: `cargo bench --bench workbook` (release profile). For an outside view of memory:
//! `/usr/bin/time -v target/release/deps/workbook-<hash> --bench` (the path `cargo bench`
//! prints). `IOC_BENCH_ROWS=N` changes the row count.

use std::path::Path;
use std::time::Instant;

use chrono::{Duration, NaiveDate};
use ioc_tracker::config::Settings;
use ioc_tracker::workbook;
use rust_xlsxwriter::Format;

const HEADER: [&str; 9] = [
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

/// Writes a tracking workbook of `rows` IOC rows: 7 tracking columns plus 2 extra, unique IOC
/// values of every kind, dates, scores, statuses, and a small second sheet.
fn generate(path: &Path, rows: u32) {
    let mut rng = fastrand::Rng::with_seed(20261204);
    let analysts = [
        "Ana Silva",
        "Bo Chen",
        "Cyril Dubois",
        "Dana Okafor",
        "Eli Novak",
    ];
    let malware = [
        "Emotet",
        "Qakbot",
        "AgentTesla",
        "Cobalt Strike",
        "N/A",
        "RedLine",
    ];
    let statuses = ["Active", "Active", "Active", "Malicious", "N/A"];
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    let start = NaiveDate::from_ymd_opt(2022, 1, 1).unwrap();
    let hex = |rng: &mut fastrand::Rng, n: usize| {
        (0..n)
            .map(|_| char::from_digit(rng.u32(0..16), 16).unwrap())
            .collect::<String>()
    };

    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet_with_constant_memory().unwrap();
    ws.set_name("IOCs").unwrap();
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for r in 1..=rows {
        let day = start + Duration::days(i64::from(r % 1400));
        ws.write_datetime_with_format(r, 0, day, &date_fmt).unwrap();
        ws.write_string(r, 1, analysts[rng.usize(..analysts.len())])
            .unwrap();
        ws.write_string(r, 2, malware[rng.usize(..malware.len())])
            .unwrap();
        let (kind, value) = match r % 6 {
            0 => ("SHA256", hex(&mut rng, 64)),
            1 => ("MD5", hex(&mut rng, 32)),
            2 => ("SHA1", hex(&mut rng, 40)),
            3 => ("Domain", format!("{}-{r}.example[.]com", hex(&mut rng, 8))),
            4 => (
                "IP",
                format!("10.{}.{}.{}", (r >> 16) & 255, (r >> 8) & 255, r & 255),
            ),
            _ => (
                "URL",
                format!("hxxp://{}.example.net/path/{r}?q=1", hex(&mut rng, 6)),
            ),
        };
        ws.write_string(r, 3, kind).unwrap();
        ws.write_string(r, 4, &value).unwrap();
        ws.write_number(r, 5, f64::from(rng.u32(0..70))).unwrap();
        ws.write_string(r, 6, statuses[rng.usize(..statuses.len())])
            .unwrap();
        ws.write_string(r, 7, format!("INC{:07}", rng.u32(0..10_000_000)))
            .unwrap();
        if r % 10 == 0 {
            ws.write_string(r, 8, "seen in phishing campaign, check proxy logs")
                .unwrap();
        }
    }
    let ws = wb.add_worksheet();
    ws.set_name("Lists").unwrap();
    for (r, s) in statuses.iter().enumerate() {
        ws.write_string(r as u32, 0, *s).unwrap();
    }
    wb.save(path).unwrap();
}

/// Peak resident set size so far, in MB (Linux); None elsewhere.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// CPU seconds (user + system) this process has used so far (Linux); 0 elsewhere. Unlike
/// wall time, this does not grow when other processes share the cores.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // the fields after the command name in parentheses; utime and stime are 14 and 15
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

fn rss() -> String {
    peak_rss_mb().map_or_else(|| "n/a".into(), |m| format!("{m:.0} MB"))
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep that quick
    let quick = !std::env::args().any(|a| a == "--bench");
    let rows: u32 = std::env::var("IOC_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2_000 } else { 100_000 });
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("ioc_tracking.xlsx");

    let t = Instant::now();
    generate(&path, rows);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated {rows} rows: {:.2} s, {:.1} MB file, peak RSS {}",
        t.elapsed().as_secs_f64(),
        size as f64 / 1e6,
        rss()
    );

    let settings = Settings::defaults();

    let (t, c) = (Instant::now(), cpu_s());
    let (wb, tracking) =
        workbook::read(&path, &settings.workbook).expect("the reader opens the file");
    let read = (t.elapsed().as_secs_f64(), cpu_s() - c);
    assert_eq!(wb.sheets.len(), 2);
    assert_eq!(wb.sheets[0].rows.len(), rows as usize + 1);
    assert_eq!((tracking.sheet, tracking.header_row), (0, 0));
    assert_eq!(tracking.columns.ioc_value, 4);
    phase("read", read);

    let (t, c) = (Instant::now(), cpu_s());
    let tracked = workbook::tracked_rows(&wb, &tracking);
    let parsed = tracked.iter().filter(|r| r.ioc().is_ok()).count();
    let parse = (t.elapsed().as_secs_f64(), cpu_s() - c);
    assert_eq!(tracked.len(), rows as usize);
    assert_eq!(parsed, rows as usize, "every generated IOC is valid");
    phase("rows + parse", parse);

    let (t, c) = (Instant::now(), cpu_s());
    let saved = workbook::write::save(&wb, Some(&tracking), &path, true).expect("save");
    let save = (t.elapsed().as_secs_f64(), cpu_s() - c);
    assert!(saved.backup.is_some());
    phase("save", save);

    println!(
        "total: {:.3} s wall, {:.2} s CPU, peak RSS {} (targets: 1.5 s, 150 MB)",
        read.0 + parse.0 + save.0,
        read.1 + parse.1 + save.1,
        rss()
    );
}

/// One phase's line: wall and CPU seconds, peak RSS so far.
fn phase(name: &str, (wall, cpu): (f64, f64)) {
    println!(
        "{name}: {wall:.3} s wall, {cpu:.2} s CPU (peak RSS so far {})",
        rss()
    );
}
