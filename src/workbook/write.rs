//! Writing the workbook model back to disk: every sheet, row and typed value rebuilt with
//! rust_xlsxwriter, written to a temporary file beside the target, synced, and renamed over
//! the target, with the previous version kept as `<stem>.bak.xlsx`.
//!
//! What is kept: sheet order and names, hidden sheets, every row (blank ones included) and
//! column, each value with its type (text always as text, numbers, booleans, dates and
//! date-times with a date format, formulas with their cached result, error values), merged
//! ranges and column widths from [`SheetLayout`](super::SheetLayout). The tracking sheet gets
//! the tool's own look (bold frozen header, autofilter, fitted widths, date formats).
//!
//! What is not kept (calamine only reads values, rust_xlsxwriter only writes): fonts, fills,
//! borders, number formats other than the date formats above, conditional formats, data
//! validation, comments, charts, images, defined names, VBA macros (a `.xlsm` is written as
//! `.xlsx` beside it, see [`output_path`]). OpenDocument formulas (`of:=…`) are kept as their
//! values, because their syntax is not Excel's. Dates before 1900 (which Excel cannot hold) are
//! written as ISO text. An error value (`#N/A`, …) is written as the formula `=#N/A` with the
//! error as its cached result: Excel shows and treats it as that error (rust_xlsxwriter has no
//! way to write a bare error cell); errors Excel has no literal for (`#SPILL!`, …) become text.
//!
//! This module does not decide what to change: the run edits the model through
//! [`edit`](super::edit) and calls [`save`].

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDateTime, NaiveTime, Timelike};
use rust_xlsxwriter::{Format, Formula, Worksheet, XlsxError};

use super::{CellValue, Sheet, Tracking, Workbook, WorkbookError};

/// Where a save put the workbook and its backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub path: PathBuf,
    /// the previous version, when there was one and a backup was asked for
    pub backup: Option<PathBuf>,
}

/// Excel's limit on a sheet name, in characters.
const SHEET_NAME_MAX: usize = 31;
/// Fitted widths on the tracking sheet stay within these bounds (characters).
const FIT_MIN: f64 = 8.0;
const FIT_MAX: f64 = 60.0;
/// Error literals Excel accepts in a formula, and which rust_xlsxwriter stores as `t="e"`.
const ERROR_LITERALS: [&str; 7] = [
    "#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!",
];

/// The file the updated workbook goes to, given the file it was read from.
///
/// `.xlsx` (any case) keeps its path. Everything else is written as `<stem>.xlsx` beside it and
/// the original is left alone: `.xls`, `.ods` and `.csv` because rust_xlsxwriter writes only
/// xlsx, and `.xlsm` because rust_xlsxwriter cannot carry the macros over — replacing the
/// `.xlsm` would silently drop the analyst's VBA, so the macro workbook stays untouched.
pub fn output_path(input: &Path) -> PathBuf {
    let ext = input
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("xlsx") => input.to_path_buf(),
        _ => input.with_extension("xlsx"),
    }
}

/// The backup kept beside `target`: `ioc_tracking.xlsx` → `ioc_tracking.bak.xlsx`.
pub fn backup_path(target: &Path) -> PathBuf {
    let stem = target
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "workbook".to_string());
    target.with_file_name(format!("{stem}.bak.xlsx"))
}

/// The lock file Excel (and LibreOffice: `.~lock.NAME#`) keeps beside a workbook it has open.
pub fn lock_file(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let excel = path.with_file_name(format!("~${name}"));
    if excel.exists() {
        return Some(excel);
    }
    let office = path.with_file_name(format!(".~lock.{name}#"));
    office.exists().then_some(office)
}

/// Fails when the workbook is open in Excel or the folder of `target` cannot take a new file.
/// Call it before the first lookup is spent; it writes and removes one temporary file.
pub fn check_writable(source: &Path, target: &Path) -> Result<(), WorkbookError> {
    for p in [source, target] {
        if let Some(lock) = lock_file(p) {
            return Err(WorkbookError::OpenInExcel {
                path: p.to_path_buf(),
                lock,
            });
        }
    }
    let dir = folder_of(target);
    tempfile::Builder::new()
        .prefix(".ioc-tracker-probe.")
        .tempfile_in(&dir)
        .map(drop)
        .map_err(|source| WorkbookError::WriteFile {
            path: dir.clone(),
            source,
        })
}

/// Writes the whole model to `target` atomically. With `backup`, the previous `target` (when
/// there is one) is first copied to [`backup_path`]. At every instant `target` is either the
/// complete old or the complete new file; on any error no temporary file is left and `target`
/// is unchanged.
pub fn save(
    wb: &Workbook,
    tracking: Option<&Tracking>,
    target: &Path,
    backup: bool,
) -> Result<Saved, WorkbookError> {
    let mut book = to_xlsx(wb, tracking, target)?;
    let backup = backup.then(|| backup_path(target));
    let kept = write_atomically(target, backup.as_deref(), |file| {
        let mut w = BufWriter::with_capacity(1 << 16, file);
        book.save_to_writer(&mut w)
            .map_err(|source| WorkbookError::WriteSheet {
                path: target.to_path_buf(),
                sheet: "(workbook)".into(),
                source: Box::new(source),
            })?;
        w.flush().map_err(|source| WorkbookError::WriteFile {
            path: target.to_path_buf(),
            source,
        })
    })?;
    Ok(Saved {
        path: target.to_path_buf(),
        backup: kept,
    })
}

fn folder_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes through `fill` into a temporary file in the target's folder, syncs it, keeps the old
/// target as `backup` (copy → temporary → rename, so the backup is complete or the previous
/// backup), then renames the new file over the target and syncs the folder. Returns the
/// backup path when one was written.
pub(crate) fn write_atomically(
    target: &Path,
    backup: Option<&Path>,
    fill: impl FnOnce(&mut File) -> Result<(), WorkbookError>,
) -> Result<Option<PathBuf>, WorkbookError> {
    let dir = folder_of(target);
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WorkbookError::WriteFile { path, source }
    };
    let prefix = format!(
        ".{}.",
        target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let temp = |d: &Path| {
        tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .tempfile_in(d)
            .map_err(io_err(d))
    };

    // 1. the new file, complete and on disk (dropping `new` on any error removes it)
    let mut new = temp(&dir)?;
    fill(new.as_file_mut())?;
    new.as_file().sync_all().map_err(io_err(target))?;
    let old_meta = match fs::metadata(target) {
        Ok(m) if m.is_dir() => {
            return Err(WorkbookError::WriteFile {
                path: target.to_path_buf(),
                source: io::Error::new(io::ErrorKind::IsADirectory, "it is a folder"),
            });
        }
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(target)(e)),
    };
    // the new file gets the old one's permissions (a temporary file is private to its owner)
    if let Some(m) = &old_meta {
        fs::set_permissions(new.path(), m.permissions()).map_err(io_err(target))?;
    } else {
        set_default_permissions(new.path()).map_err(io_err(target))?;
    }

    // 2. the backup: a complete copy of the old target, renamed into place
    let mut kept = None;
    if let (Some(backup), Some(meta)) = (backup, &old_meta) {
        let mut copy = temp(&dir)?;
        let mut old = File::open(target).map_err(io_err(target))?;
        io::copy(&mut old, copy.as_file_mut()).map_err(io_err(backup))?;
        copy.as_file().sync_all().map_err(io_err(backup))?;
        fs::set_permissions(copy.path(), meta.permissions()).map_err(io_err(backup))?;
        copy.persist(backup).map_err(|e| io_err(backup)(e.error))?;
        kept = Some(backup.to_path_buf());
    }

    // 3. the switch: one rename (MoveFileEx with replace on Windows)
    new.persist(target).map_err(|e| io_err(target)(e.error))?;
    sync_folder(&dir).map_err(io_err(&dir))?;
    Ok(kept)
}

#[cfg(unix)]
fn set_default_permissions(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_default_permissions(_path: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn sync_folder(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_folder(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// The formats the writer uses; built once per workbook.
pub(crate) struct Formats {
    pub date: Format,
    pub datetime: Format,
    pub bold: Format,
    pub bold_date: Format,
    pub bold_datetime: Format,
}

impl Formats {
    pub(crate) fn new() -> Formats {
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        Formats {
            bold: Format::new().set_bold(),
            bold_date: date.clone().set_bold(),
            bold_datetime: datetime.clone().set_bold(),
            date,
            datetime,
        }
    }
}

/// How one cell is dressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Style {
    pub bold: bool,
    /// a date-time format even at midnight (the `Last Checked` column)
    pub always_time: bool,
}

/// Writes one typed value. Text always goes through `write_string`, so "=…", "+1", "000959"
/// stay text.
pub(crate) fn write_cell(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    value: &CellValue,
    f: &Formats,
    style: Style,
) -> Result<(), XlsxError> {
    match value {
        CellValue::Empty => {}
        CellValue::String(s) if s.is_empty() => {}
        CellValue::String(s) => {
            if style.bold {
                ws.write_string_with_format(row, col, s, &f.bold)?;
            } else {
                ws.write_string(row, col, s)?;
            }
        }
        CellValue::Number(n) if n.is_finite() => {
            if style.bold {
                ws.write_number_with_format(row, col, *n, &f.bold)?;
            } else {
                ws.write_number(row, col, *n)?;
            }
        }
        CellValue::Number(_) => {
            write_cell(ws, row, col, &CellValue::Error("#NUM!".into()), f, style)?;
        }
        CellValue::Bool(b) => {
            if style.bold {
                ws.write_boolean_with_format(row, col, *b, &f.bold)?;
            } else {
                ws.write_boolean(row, col, *b)?;
            }
        }
        CellValue::DateTime(dt) => {
            if dt.year() < 1900 {
                let text = CellValue::String(date_text(dt));
                return write_cell(ws, row, col, &text, f, style);
            }
            let timed = style.always_time || dt.time() != NaiveTime::MIN;
            let fmt = match (style.bold, timed) {
                (false, false) => &f.date,
                (false, true) => &f.datetime,
                (true, false) => &f.bold_date,
                (true, true) => &f.bold_datetime,
            };
            ws.write_datetime_with_format(row, col, dt, fmt)?;
        }
        CellValue::Error(e) => {
            if ERROR_LITERALS.contains(&e.as_str()) {
                let formula = Formula::new(format!("={e}")).set_result(e);
                if style.bold {
                    ws.write_formula_with_format(row, col, formula, &f.bold)?;
                } else {
                    ws.write_formula(row, col, formula)?;
                }
            } else {
                write_cell(ws, row, col, &CellValue::String(e.clone()), f, style)?;
            }
        }
        CellValue::Formula { formula, cached } => {
            let text = formula.trim();
            if text.is_empty() || text.starts_with("of:") {
                // no formula, or OpenDocument syntax Excel cannot read: keep the value
                return write_cell(ws, row, col, cached, f, style);
            }
            let formula = Formula::new(text).set_result(cached_text(cached));
            let fmt = match cached.as_ref() {
                CellValue::DateTime(dt) if style.always_time || dt.time() != NaiveTime::MIN => {
                    Some(if style.bold {
                        &f.bold_datetime
                    } else {
                        &f.datetime
                    })
                }
                CellValue::DateTime(_) => Some(if style.bold { &f.bold_date } else { &f.date }),
                _ if style.bold => Some(&f.bold),
                _ => None,
            };
            match fmt {
                Some(fmt) => ws.write_formula_with_format(row, col, formula, fmt)?,
                None => ws.write_formula(row, col, formula)?,
            };
        }
    }
    Ok(())
}

/// The cached result of a formula as rust_xlsxwriter wants it (it infers number, boolean,
/// error or text from the spelling).
fn cached_text(cached: &CellValue) -> String {
    match cached {
        CellValue::Empty => String::new(),
        CellValue::String(s) => s.clone(),
        CellValue::Number(n) => format!("{n}"),
        CellValue::Bool(true) => "TRUE".into(),
        CellValue::Bool(false) => "FALSE".into(),
        CellValue::DateTime(dt) => format!("{}", excel_serial(dt)),
        CellValue::Error(e) => e.clone(),
        CellValue::Formula { cached, .. } => cached_text(cached),
    }
}

/// The Excel 1900-system serial of a date-time (with Excel's 1900 leap-year quirk).
pub(crate) fn excel_serial(dt: &NaiveDateTime) -> f64 {
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 31).expect("valid date");
    let mut days = (dt.date() - epoch).num_days() as f64;
    if days > 59.0 {
        days += 1.0;
    }
    let t = dt.time();
    let ms =
        f64::from(t.num_seconds_from_midnight()) * 1000.0 + f64::from(t.nanosecond() / 1_000_000);
    days + ms / 86_400_000.0
}

/// yyyy-mm-dd, or yyyy-mm-dd hh:mm:ss when there is a time.
pub(crate) fn date_text(dt: &NaiveDateTime) -> String {
    if dt.time() == NaiveTime::MIN {
        dt.format("%Y-%m-%d").to_string()
    } else {
        dt.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// An Excel cell reference (`A1`) for messages, from 0-based indexes.
pub(crate) fn cell_ref(row: u32, col: u16) -> String {
    let mut n = u32::from(col) + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let r = ((n - 1) % 26) as u8;
        letters.push(b'A' + r);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!(
        "{}{}",
        String::from_utf8(letters).unwrap_or_default(),
        row + 1
    )
}

/// A name Excel accepts, unique (case-insensitively) among `used`: a valid name is kept as it
/// is; otherwise `[]:*?/\` become `_`, leading/trailing apostrophes go, the name is cut to 31
/// characters, and a clash gets ` (2)`, ` (3)`, ….
pub fn excel_sheet_name(name: &str, used: &mut HashSet<String>) -> String {
    let mut clean: String = name
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    clean = clean.trim_matches('\'').to_string();
    if clean.trim().is_empty() {
        clean = "Sheet".to_string();
    }
    let base: String = clean.chars().take(SHEET_NAME_MAX).collect();
    let mut candidate = base.clone();
    let mut n = 2;
    while used.contains(&candidate.to_lowercase()) {
        let suffix = format!(" ({n})");
        let keep = SHEET_NAME_MAX - suffix.chars().count();
        candidate = format!("{}{suffix}", base.chars().take(keep).collect::<String>());
        n += 1;
    }
    used.insert(candidate.to_lowercase());
    candidate
}

/// The characters a value shows as, for fitting column widths.
fn shown_len(v: &CellValue, always_time: bool) -> usize {
    match v {
        CellValue::Empty => 0,
        CellValue::String(s) => s.lines().map(|l| l.chars().count()).max().unwrap_or(0),
        CellValue::Number(n) => format!("{n}").len(),
        CellValue::Bool(_) => 5,
        CellValue::DateTime(dt) if always_time || dt.time() != NaiveTime::MIN => 19,
        CellValue::DateTime(_) => 10,
        CellValue::Error(e) => e.len(),
        CellValue::Formula { cached, .. } => shown_len(cached, always_time),
    }
}

/// The last row index holding a non-blank value (None for a blank sheet).
fn last_filled_row(sheet: &Sheet) -> Option<usize> {
    sheet
        .rows
        .iter()
        .rposition(|r| r.iter().any(|c| !c.is_empty()))
}

/// Builds the rust_xlsxwriter workbook for the model (nothing touches disk except
/// rust_xlsxwriter's own temporary files for constant-memory sheets). `path` is for messages.
pub fn to_xlsx(
    wb: &Workbook,
    tracking: Option<&Tracking>,
    path: &Path,
) -> Result<rust_xlsxwriter::Workbook, WorkbookError> {
    if let Some(t) = tracking
        && t.sheet >= wb.sheets.len()
    {
        return Err(WorkbookError::Edit {
            sheet: format!("#{}", t.sheet + 1),
            reason: format!("the workbook has {} sheets", wb.sheets.len()),
        });
    }
    let formats = Formats::new();
    let mut book = rust_xlsxwriter::Workbook::new();
    // Excel's own level: about 30% faster to save than the default 6, about 5% larger
    book.set_zip_compression_level(3);
    let mut used = HashSet::new();
    // the sheet Excel opens on: the tracking sheet, else the first visible one; Excel needs at
    // least one visible sheet
    let active = tracking
        .map(|t| t.sheet)
        .filter(|&i| !wb.sheets[i].layout.hidden)
        .or_else(|| wb.sheets.iter().position(|s| !s.layout.hidden))
        .unwrap_or(0);
    for (i, sheet) in wb.sheets.iter().enumerate() {
        // names from xlsx/xls are valid already and stay as they are; a csv stem or an ods
        // name may need Excel's rules applied
        let name = excel_sheet_name(&sheet.name, &mut used);
        let sheet_err = |source| WorkbookError::WriteSheet {
            path: path.to_path_buf(),
            sheet: sheet.name.clone(),
            source: Box::new(source),
        };
        let ws = book
            .add_worksheet_with_constant_memory()
            .map_err(sheet_err)?;
        ws.set_name(&name).map_err(sheet_err)?;
        let this_tracking = tracking.filter(|t| t.sheet == i);
        write_sheet(ws, sheet, this_tracking, &formats, path)?;
        if i == active {
            ws.set_active(true);
        } else if sheet.layout.hidden {
            ws.set_hidden(true);
        }
    }
    Ok(book)
}

fn write_sheet(
    ws: &mut Worksheet,
    sheet: &Sheet,
    tracking: Option<&Tracking>,
    f: &Formats,
    path: &Path,
) -> Result<(), WorkbookError> {
    let sheet_err = |source| WorkbookError::WriteSheet {
        path: path.to_path_buf(),
        sheet: sheet.name.clone(),
        source: Box::new(source),
    };
    let cell_err = |row: usize, col: usize, source| WorkbookError::WriteCell {
        path: path.to_path_buf(),
        sheet: sheet.name.clone(),
        cell: cell_ref(
            row.min(u32::MAX as usize) as u32,
            col.min(u16::MAX as usize) as u16,
        ),
        source: Box::new(source),
    };

    // column widths: the analyst's, or fitted on the tracking sheet
    let last_row = last_filled_row(sheet);
    // a header row the sheet does not have gets no styling (nothing to style)
    let tracking = tracking.filter(|t| t.header_row < sheet.rows.len());
    let header_row = tracking.map(|t| t.header_row);
    let last_time_col = tracking.and_then(|t| t.columns.last_checked);
    if let (Some(t), Some(last)) = (tracking, last_row) {
        let width = sheet
            .rows
            .get(t.header_row)
            .map(|r| r.iter().rposition(|c| !c.is_empty()).map_or(0, |c| c + 1))
            .unwrap_or(0)
            .max(1);
        let mut fit = vec![0usize; width];
        for row in &sheet.rows[t.header_row..=last.max(t.header_row)] {
            for (c, v) in row.iter().enumerate().take(width) {
                fit[c] = fit[c].max(shown_len(v, Some(c) == last_time_col));
            }
        }
        for (c, chars) in fit.iter().enumerate() {
            // +2 for padding, +2 on the header for the filter button
            let w = (*chars as f64 + 4.0).clamp(FIT_MIN, FIT_MAX);
            ws.set_column_width(c as u16, w).map_err(sheet_err)?;
        }
        ws.set_freeze_panes((t.header_row + 1) as u32, 0)
            .map_err(sheet_err)?;
        let last_col = (width - 1) as u16;
        ws.autofilter(
            t.header_row as u32,
            0,
            last.max(t.header_row) as u32,
            last_col,
        )
        .map_err(sheet_err)?;
        if let Some(c) = t.columns.date {
            ws.set_column_format(c as u16, &f.date).map_err(sheet_err)?;
        }
        if let Some(c) = t.columns.last_checked {
            ws.set_column_format(c as u16, &f.datetime)
                .map_err(sheet_err)?;
        }
    } else {
        for &(c, w) in &sheet.layout.column_widths {
            if w.is_finite() && w > 0.0 {
                ws.set_column_width(c, w.min(255.0)).map_err(sheet_err)?;
            }
        }
    }

    // merged ranges, written in row order (constant-memory sheets flush each row)
    let mut merges: Vec<_> = sheet
        .layout
        .merged
        .iter()
        .copied()
        .filter(|&(r1, c1, r2, c2)| r1 <= r2 && c1 <= c2 && (r1, c1) != (r2, c2))
        .collect();
    merges.sort_unstable();
    let mut next_merge = 0;
    let mut taken: Vec<(u32, u16, u32, u16)> = Vec::new();
    let blank = Format::new();
    let mut merge_until = |ws: &mut Worksheet, row: Option<u32>, next: &mut usize| {
        while *next < merges.len() && row.is_none_or(|r| merges[*next].0 <= r) {
            let m = merges[*next];
            *next += 1;
            let overlaps = taken
                .iter()
                .any(|t| m.0 <= t.2 && t.0 <= m.2 && m.1 <= t.3 && t.1 <= m.3);
            if overlaps {
                tracing::warn!(sheet = %sheet.name, range = ?m, "overlapping merged range left unmerged");
                continue;
            }
            match ws.merge_range(m.0, m.1, m.2, m.3, "", &blank) {
                Ok(_) => taken.push(m),
                Err(e) => {
                    tracing::warn!(sheet = %sheet.name, range = ?m, error = %e, "merged range left unmerged")
                }
            }
        }
    };

    for (r, row) in sheet.rows.iter().enumerate() {
        let r32 = u32::try_from(r).map_err(|_| cell_err(r, 0, XlsxError::RowColumnLimitError))?;
        merge_until(ws, Some(r32), &mut next_merge);
        let bold = header_row == Some(r);
        for (c, v) in row.iter().enumerate() {
            if matches!(v, CellValue::Empty) {
                continue;
            }
            let c16 =
                u16::try_from(c).map_err(|_| cell_err(r, c, XlsxError::RowColumnLimitError))?;
            let style = Style {
                bold,
                always_time: !bold && Some(c) == last_time_col,
            };
            write_cell(ws, r32, c16, v, f, style).map_err(|e| cell_err(r, c, e))?;
        }
    }
    merge_until(ws, None, &mut next_merge);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_path_keeps_xlsx_and_moves_the_rest_beside() {
        let p = |s: &str| output_path(Path::new(s));
        assert_eq!(
            p("/d/ioc_tracking.xlsx"),
            PathBuf::from("/d/ioc_tracking.xlsx")
        );
        assert_eq!(
            p("/d/ioc_tracking.XLSX"),
            PathBuf::from("/d/ioc_tracking.XLSX")
        );
        assert_eq!(p("/d/t.xlsm"), PathBuf::from("/d/t.xlsx"));
        assert_eq!(p("/d/t.XLS"), PathBuf::from("/d/t.xlsx"));
        assert_eq!(p("/d/t.ods"), PathBuf::from("/d/t.xlsx"));
        assert_eq!(p("/d/t.Csv"), PathBuf::from("/d/t.xlsx"));
        assert_eq!(p("t.csv"), PathBuf::from("t.xlsx"));
    }

    #[test]
    fn backup_path_is_stem_bak_xlsx() {
        assert_eq!(
            backup_path(Path::new("/d/ioc_tracking.xlsx")),
            PathBuf::from("/d/ioc_tracking.bak.xlsx")
        );
        assert_eq!(
            backup_path(Path::new("x.XLSX")),
            PathBuf::from("x.bak.xlsx")
        );
    }

    #[test]
    fn sheet_names_follow_excel_rules() {
        let mut used = HashSet::new();
        assert_eq!(excel_sheet_name("IOCs", &mut used), "IOCs");
        assert_eq!(excel_sheet_name("iocs", &mut used), "iocs (2)");
        assert_eq!(excel_sheet_name("a/b:c", &mut used), "a_b_c");
        assert_eq!(excel_sheet_name("'quoted'", &mut used), "quoted");
        assert_eq!(excel_sheet_name("", &mut used), "Sheet");
        let long = "x".repeat(40);
        assert_eq!(excel_sheet_name(&long, &mut used), "x".repeat(31));
        let again = excel_sheet_name(&long, &mut used);
        assert_eq!(again, format!("{} (2)", "x".repeat(27)));
        assert_eq!(again.chars().count(), 31);
    }

    #[test]
    fn check_writable_sees_excel_lock_files_and_unusable_folders() {
        let dir = tempfile::tempdir().unwrap();
        let wb = dir.path().join("ioc_tracking.xlsx");
        fs::write(&wb, b"x").unwrap();
        check_writable(&wb, &wb).unwrap();
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "the probe is removed"
        );

        fs::write(dir.path().join("~$ioc_tracking.xlsx"), b"").unwrap();
        let err = check_writable(&wb, &wb).unwrap_err().to_string();
        assert!(
            err.contains("open in Excel") && err.contains("~$ioc_tracking.xlsx"),
            "{err}"
        );
        fs::remove_file(dir.path().join("~$ioc_tracking.xlsx")).unwrap();

        fs::write(dir.path().join(".~lock.ioc_tracking.xlsx#"), b"").unwrap();
        assert!(check_writable(&wb, &wb).is_err());
        fs::remove_file(dir.path().join(".~lock.ioc_tracking.xlsx#")).unwrap();

        let missing = dir.path().join("gone").join("out.xlsx");
        let err = check_writable(&wb, &missing).unwrap_err().to_string();
        assert!(err.contains("gone") && err.contains("writable"), "{err}");
    }

    #[test]
    fn a_failed_fill_leaves_the_target_and_backup_alone_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t.xlsx");
        let backup = backup_path(&target);
        fs::write(&target, b"old").unwrap();
        fs::write(&backup, b"older").unwrap();
        let err = write_atomically(&target, Some(&backup), |f| {
            f.write_all(b"half a fil").unwrap();
            Err(WorkbookError::Other("disk full".into()))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(fs::read(&backup).unwrap(), b"older");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);

        let kept = write_atomically(&target, Some(&backup), |f| {
            f.write_all(b"new")
                .map_err(|e| WorkbookError::Other(e.to_string()))
        })
        .unwrap();
        assert_eq!(kept, Some(backup.clone()));
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(fs::read(&backup).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn cell_refs() {
        assert_eq!(cell_ref(0, 0), "A1");
        assert_eq!(cell_ref(9, 25), "Z10");
        assert_eq!(cell_ref(0, 26), "AA1");
        assert_eq!(cell_ref(0, 701), "ZZ1");
        assert_eq!(cell_ref(0, 702), "AAA1");
    }

    #[test]
    fn serials_match_excel() {
        let d = |y, m, dd, h, mi| {
            chrono::NaiveDate::from_ymd_opt(y, m, dd)
                .unwrap()
                .and_hms_opt(h, mi, 0)
                .unwrap()
        };
        assert_eq!(excel_serial(&d(1900, 1, 1, 0, 0)), 1.0);
        assert_eq!(excel_serial(&d(1900, 3, 1, 0, 0)), 61.0);
        assert_eq!(excel_serial(&d(2024, 1, 15, 13, 30)), 45306.5625);
    }
}
