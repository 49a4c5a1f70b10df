//! Benchmark of the workbook round trip on a generated 100,000-row tracking workbook: read it
//! into the model, then save it back (atomic replace with backup), printing wall times and the
//! process's peak RSS (Linux `VmHWM`). The original pandas + openpyxl tool takes about 35 s
//! and 440 MB for this; the target is ≤ 1.5 s read + write and ≤ 150 MB peak.
//!
//! Run: `cargo bench --bench workbook` (release profile). For an outside view of memory:
//! `/usr/bin/time -v target/release/deps/workbook-<hash>` (the path `cargo bench` prints).
//! `IOC_BENCH_ROWS=N` changes the row count.
//!
//! The model is loaded by `load` below (calamine, kept in one function); the integrator
//! switches it to `ioc_tracker::workbook::read` when the reader lands.

use std::path::Path;
use std::time::Instant;

use calamine::{Data, Reader};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use ioc_tracker::workbook::write::save;
use ioc_tracker::workbook::{
    CellValue, Columns, Sheet, SheetLayout, SourceFormat, Tracking, Workbook,
};
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

fn cell(d: &Data) -> CellValue {
    match d {
        Data::Empty => CellValue::Empty,
        Data::String(v) => CellValue::String(v.clone()),
        Data::Float(f) => CellValue::Number(*f),
        Data::Int(i) => CellValue::Number(*i as f64),
        Data::Bool(b) => CellValue::Bool(*b),
        Data::DateTime(x) => x
            .as_datetime()
            .map_or(CellValue::Number(x.as_f64()), CellValue::DateTime),
        Data::DateTimeIso(v) => NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S")
            .map_or_else(|_| CellValue::String(v.clone()), CellValue::DateTime),
        Data::DurationIso(v) => CellValue::String(v.clone()),
        Data::Error(e) => CellValue::Error(e.to_string()),
    }
}

fn cell_ref(d: calamine::DataRef<'_>) -> CellValue {
    use calamine::DataRef as D;
    match d {
        D::SharedString(v) => CellValue::String(v.to_string()),
        D::String(v) => CellValue::String(v),
        D::Empty => CellValue::Empty,
        D::Float(f) => CellValue::Number(f),
        D::Int(i) => CellValue::Number(i as f64),
        D::Bool(b) => CellValue::Bool(b),
        D::DateTime(x) => cell(&Data::DateTime(x)),
        D::DateTimeIso(v) => cell(&Data::DateTimeIso(v)),
        D::DurationIso(v) => CellValue::String(v),
        D::Error(e) => CellValue::Error(e.to_string()),
    }
}

fn put(rows: &mut Vec<Vec<CellValue>>, r: usize, c: usize, v: CellValue) {
    if rows.len() <= r {
        rows.resize_with(r + 1, Vec::new);
    }
    let row = &mut rows[r];
    if row.len() <= c {
        row.resize(c + 1, CellValue::Empty);
    }
    row[c] = v;
}

/// THE MODEL LOADER (bench side): calamine → `Workbook`. Replace with `workbook::read`.
/// For xlsx it streams each sheet once, taking the cached value and the formula of every cell
/// together (`next_cell_with_formula`), instead of a value pass plus a formula pass.
fn load(path: &Path) -> Workbook {
    ioc_tracker::workbook::read_workbook(path).expect("the reader opens the file")
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

    let (t, c) = (Instant::now(), cpu_s());
    let wb = load(&path);
    let read = t.elapsed().as_secs_f64();
    let read_cpu = cpu_s() - c;
    assert_eq!(wb.sheets[0].rows.len(), rows as usize + 1);
    println!(
        "read:  {read:.3} s wall, {read_cpu:.2} s CPU (peak RSS so far {})",
        rss()
    );

    let tracking = Tracking {
        sheet: 0,
        header_row: 0,
        columns: Columns {
            date: Some(0),
            analyst: Some(1),
            malware: Some(2),
            ioc_type: Some(3),
            ioc_value: 4,
            score: Some(5),
            status: Some(6),
            last_checked: None,
            notes: None,
        },
    };
    let (t, c) = (Instant::now(), cpu_s());
    let saved = save(&wb, Some(&tracking), &path, true).expect("save");
    let write = t.elapsed().as_secs_f64();
    let write_cpu = cpu_s() - c;
    assert!(saved.backup.is_some());
    println!(
        "write: {write:.3} s wall, {write_cpu:.2} s CPU (peak RSS so far {})",
        rss()
    );
    println!(
        "read + write: {:.3} s wall, {:.2} s CPU, peak RSS {} (targets: 1.5 s, 150 MB)",
        read + write,
        read_cpu + write_cpu,
        rss()
    );
}
