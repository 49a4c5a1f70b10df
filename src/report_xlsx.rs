//! The report workbook the run writes when anything is flagged (and the email attaches):
//! a `Malicious IOCs` sheet with one row per flagged IOC — all its original columns as the
//! analyst wrote them, then the new score, one verdict per EDR group, the VirusTotal link, the
//! reason and the action taken — and a `Summary` sheet with when the run happened, the
//! threshold, the counts and the requests spent per key.
//!
//! Built to a buffer ([`build`]) so the email can attach the bytes without a temporary file;
//! [`write`] puts them on disk atomically. It decides nothing: the rows, verdicts and counts come
//! from [`Report`].

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Url, Worksheet};

use crate::report::{Report, RowResult};
use crate::rules::Verdict;
use crate::workbook::write::{Formats, Style, write_atomically, write_cell};
use crate::workbook::{CellValue, Tracking, Workbook, WorkbookError};

/// The sheet names of the report.
pub const FLAGGED_SHEET: &str = "Malicious IOCs";
pub const SUMMARY_SHEET: &str = "Summary";

/// Fitted widths stay within these bounds (characters).
const FIT_MIN: f64 = 8.0;
const FIT_MAX: f64 = 60.0;

/// The flagged rows' original cells, captured from the tracking sheet before the run edits it
/// (removed rows leave the sheet, so capture first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OriginalRows {
    /// the tracking header, as text
    pub headers: Vec<String>,
    /// the sheet's 1-based row number (`RowResult::row`) → its cells
    pub rows: HashMap<usize, Vec<CellValue>>,
}

impl OriginalRows {
    /// Copies the header and the given rows (1-based row numbers, as in `RowResult::row`) of
    /// the tracking sheet. Rows the sheet does not have are skipped.
    pub fn capture(
        wb: &Workbook,
        t: &Tracking,
        sheet_rows: impl IntoIterator<Item = usize>,
    ) -> OriginalRows {
        let Some(sheet) = wb.sheets.get(t.sheet) else {
            return OriginalRows::default();
        };
        let headers = sheet
            .rows
            .get(t.header_row)
            .map(|r| {
                let width = r.iter().rposition(|c| !c.is_empty()).map_or(0, |c| c + 1);
                r[..width].iter().map(cell_text).collect()
            })
            .unwrap_or_default();
        let rows = sheet_rows
            .into_iter()
            .filter_map(|n| {
                let cells = sheet.rows.get(n.checked_sub(1)?)?;
                Some((n, cells.clone()))
            })
            .collect();
        OriginalRows { headers, rows }
    }
}

/// A cell as plain text (header names).
fn cell_text(v: &CellValue) -> String {
    match v {
        CellValue::Empty => String::new(),
        CellValue::String(s) => s.trim().to_string(),
        CellValue::Number(n) => format!("{n}"),
        CellValue::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        CellValue::DateTime(dt) => crate::workbook::write::date_text(dt),
        CellValue::Error(e) => e.clone(),
        CellValue::Formula { cached, .. } => cell_text(cached),
    }
}

/// One EDR group's verdict in words: `Detected (TrellixENS: Artemis!ABC)`,
/// `Not detected (FireEye)`, `Not present`.
/// `None` (not a file hash: EDR verdicts do not apply) is "n/a".
pub fn verdict_text(v: Option<&Verdict>) -> String {
    match v {
        None => "n/a".to_string(),
        Some(Verdict::Detected {
            engine,
            result: Some(r),
        }) if !r.is_empty() => format!("Detected ({engine}: {r})"),
        Some(Verdict::Detected { engine, .. }) => format!("Detected ({engine})"),
        Some(Verdict::NotDetected { engine, .. }) => format!("Not detected ({engine})"),
        Some(Verdict::NotPresent) => "Not present".to_string(),
    }
}

/// Builds the report workbook in memory.
pub fn build(report: &Report, original: &OriginalRows) -> Result<Vec<u8>, WorkbookError> {
    let f = Formats::new();
    let mut book = rust_xlsxwriter::Workbook::new();
    let path = Path::new("report workbook");
    let sheet_err = |sheet: &str| {
        let sheet = sheet.to_string();
        move |e| WorkbookError::WriteSheet {
            path: path.to_path_buf(),
            sheet: sheet.clone(),
            source: Box::new(e),
        }
    };

    let ws = book.add_worksheet();
    ws.set_name(FLAGGED_SHEET)
        .map_err(sheet_err(FLAGGED_SHEET))?;
    flagged_sheet(ws, report, original, &f).map_err(sheet_err(FLAGGED_SHEET))?;

    let ws = book.add_worksheet();
    ws.set_name(SUMMARY_SHEET)
        .map_err(sheet_err(SUMMARY_SHEET))?;
    summary_sheet(ws, report, &f).map_err(sheet_err(SUMMARY_SHEET))?;

    book.save_to_buffer().map_err(sheet_err("(workbook)"))
}

/// Writes the report bytes to `path` atomically (temporary file, sync, rename).
pub fn write(path: &Path, bytes: &[u8]) -> Result<PathBuf, WorkbookError> {
    write_atomically(path, None, |file| {
        file.write_all(bytes)
            .map_err(|source| WorkbookError::WriteFile {
                path: path.to_path_buf(),
                source,
            })
    })?;
    Ok(path.to_path_buf())
}

/// Tracks the widest text per column.
struct Fit(Vec<usize>);

impl Fit {
    fn see(&mut self, col: usize, chars: usize) {
        if self.0.len() <= col {
            self.0.resize(col + 1, 0);
        }
        self.0[col] = self.0[col].max(chars);
    }

    fn apply(&self, ws: &mut Worksheet) -> Result<(), rust_xlsxwriter::XlsxError> {
        for (c, &n) in self.0.iter().enumerate() {
            ws.set_column_width(c as u16, (n as f64 + 4.0).clamp(FIT_MIN, FIT_MAX))?;
        }
        Ok(())
    }
}

fn shown_len(v: &CellValue) -> usize {
    match v {
        CellValue::DateTime(_) => 19,
        v => cell_text(v).chars().count(),
    }
}

fn flagged_sheet(
    ws: &mut Worksheet,
    report: &Report,
    original: &OriginalRows,
    f: &Formats,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let flagged: Vec<&RowResult> = report.flagged().collect();
    let width = flagged
        .iter()
        .filter_map(|r| original.rows.get(&r.row))
        .map(|cells| {
            cells
                .iter()
                .rposition(|c| !c.is_empty())
                .map_or(0, |c| c + 1)
        })
        .max()
        .unwrap_or(0)
        .max(original.headers.len());
    let mut header: Vec<String> = original.headers.clone();
    header.resize(width, String::new());
    header.push("Score".into());
    header.extend(report.edr_groups.iter().cloned());
    header.extend(["VirusTotal".into(), "Reason".into(), "Action".into()]);

    let mut fit = Fit(Vec::new());
    let bold = Style {
        bold: true,
        always_time: false,
    };
    for (c, h) in header.iter().enumerate() {
        write_cell(ws, 0, c as u16, &CellValue::String(h.clone()), f, bold)?;
        fit.see(c, h.chars().count());
    }
    for (i, r) in flagged.iter().enumerate() {
        let row = (i + 1) as u32;
        let mut col = 0usize;
        let empty = Vec::new();
        let cells = original.rows.get(&r.row).unwrap_or(&empty);
        for c in 0..width {
            let v = cells.get(c).unwrap_or(&CellValue::Empty);
            write_cell(ws, row, c as u16, v, f, Style::default())?;
            fit.see(c, shown_len(v));
        }
        col += width;
        let score = r
            .score
            .map_or(CellValue::Empty, |s| CellValue::Number(f64::from(s)));
        write_cell(ws, row, col as u16, &score, f, Style::default())?;
        col += 1;
        for g in &report.edr_groups {
            let text = verdict_text(r.verdicts.get(g));
            fit.see(col, text.chars().count());
            write_cell(
                ws,
                row,
                col as u16,
                &CellValue::String(text),
                f,
                Style::default(),
            )?;
            col += 1;
        }
        if let Some(link) = r.link.as_deref().filter(|l| !l.is_empty()) {
            // a long or odd link still shows, as text
            if ws.write_url(row, col as u16, Url::new(link)).is_err() {
                ws.write_string(row, col as u16, link)?;
            }
            fit.see(col, link.chars().count());
        }
        col += 1;
        write_cell(
            ws,
            row,
            col as u16,
            &CellValue::String(r.note.clone()),
            f,
            Style::default(),
        )?;
        fit.see(col, r.note.chars().count());
        col += 1;
        let action = r.action.map_or("", |a| a.as_str());
        write_cell(
            ws,
            row,
            col as u16,
            &CellValue::String(action.into()),
            f,
            Style::default(),
        )?;
    }
    fit.apply(ws)?;
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, flagged.len() as u32, (header.len() - 1) as u16)?;
    Ok(())
}

fn summary_sheet(
    ws: &mut Worksheet,
    report: &Report,
    f: &Formats,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let c = &report.counts;
    let n = |v: usize| CellValue::Number(v as f64);
    let lines: Vec<(&str, CellValue)> = vec![
        ("Started", CellValue::DateTime(report.started.naive_local())),
        (
            "Finished",
            CellValue::DateTime(report.finished.naive_local()),
        ),
        (
            "Time zone (UTC offset)",
            CellValue::String(report.started.format("%:z").to_string()),
        ),
        ("Threshold", CellValue::Number(f64::from(report.threshold))),
        ("Rows with an IOC", n(c.rows)),
        ("Unique IOCs", n(c.unique_iocs)),
        ("Checked", n(c.checked)),
        ("Flagged", n(c.flagged)),
        ("Below threshold", n(c.below_threshold)),
        ("Covered by EDR", n(c.covered_by_edr)),
        ("Already malicious", n(c.already_malicious)),
        ("Not found in VirusTotal", n(c.not_found)),
        ("Invalid", n(c.invalid)),
        ("Not checked", n(c.not_checked)),
        ("Removed from tracking", n(c.removed)),
        ("Marked Malicious", n(c.marked)),
        (
            "Total requests",
            CellValue::Number(report.total_requests as f64),
        ),
    ];
    let bold = Style {
        bold: true,
        always_time: false,
    };
    let timed = Style {
        bold: false,
        always_time: true,
    };
    write_cell(ws, 0, 0, &CellValue::String("Item".into()), f, bold)?;
    write_cell(ws, 0, 1, &CellValue::String("Value".into()), f, bold)?;
    let mut row = 1u32;
    for (label, v) in &lines {
        write_cell(
            ws,
            row,
            0,
            &CellValue::String((*label).into()),
            f,
            Style::default(),
        )?;
        write_cell(ws, row, 1, v, f, timed)?;
        row += 1;
    }
    row += 1;
    for (c, h) in ["Key", "Requests", "State"].iter().enumerate() {
        write_cell(ws, row, c as u16, &CellValue::String((*h).into()), f, bold)?;
    }
    let mut key_width = 3;
    for k in &report.keys {
        row += 1;
        write_cell(
            ws,
            row,
            0,
            &CellValue::String(k.key.clone()),
            f,
            Style::default(),
        )?;
        write_cell(
            ws,
            row,
            1,
            &CellValue::Number(k.requests as f64),
            f,
            Style::default(),
        )?;
        write_cell(
            ws,
            row,
            2,
            &CellValue::String(k.state.clone()),
            f,
            Style::default(),
        )?;
        key_width = key_width.max(k.key.chars().count());
    }
    let label_width = lines.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    ws.set_column_width(
        0,
        (label_width.max(key_width) as f64 + 2.0).clamp(FIT_MIN, FIT_MAX),
    )?;
    ws.set_column_width(1, 21)?;
    ws.set_column_width(2, 14)?;
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_in_words() {
        let d = |e: &str, r: Option<&str>| Verdict::Detected {
            engine: e.into(),
            result: r.map(Into::into),
        };
        assert_eq!(
            verdict_text(Some(&d("TrellixENS", Some("Artemis!ABC")))),
            "Detected (TrellixENS: Artemis!ABC)"
        );
        assert_eq!(
            verdict_text(Some(&d("FireEye", None))),
            "Detected (FireEye)"
        );
        assert_eq!(
            verdict_text(Some(&d("FireEye", Some("")))),
            "Detected (FireEye)"
        );
        let nd = Verdict::NotDetected {
            engine: "FireEye".into(),
            result: Some("clean".into()),
        };
        assert_eq!(verdict_text(Some(&nd)), "Not detected (FireEye)");
        assert_eq!(verdict_text(Some(&Verdict::NotPresent)), "Not present");
        assert_eq!(verdict_text(None), "n/a");
    }

    #[test]
    fn an_empty_report_still_builds() {
        let now = chrono::Local::now();
        let report = Report {
            started: now,
            finished: now,
            threshold: 5,
            edr_groups: vec![],
            rows: vec![],
            counts: Default::default(),
            keys: vec![],
            total_requests: 0,
        };
        let bytes = build(&report, &OriginalRows::default()).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
