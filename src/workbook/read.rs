//! Reading the analyst's workbook (.xlsx, .xlsm, .xls, .ods with calamine; .csv with the csv
//! crate) into the [`Workbook`] model, finding the tracking sheet, and turning its data rows
//! into [`TrackedRow`]s.
//!
//! What is read: every sheet in order (chart, dialog and macro sheets have no cells and are
//! skipped with a warning), every row from A1 including blank ones (calamine trims ranges to
//! the used area; cells are put back at their absolute positions), values with their type
//! (numbers, text, booleans, errors such as `#N/A`, dates as `NaiveDateTime`: xlsx/xls serials
//! with a date format and ods ISO dates alike), formulas with their cached value (ods
//! OpenFormula turned into Excel syntax), merged regions (xlsx, xls), column widths (xlsx, see
//! `xlsx_layout`) and hidden sheets. Durations (a time formatted `[h]:mm`) are kept as their
//! serial number; ods durations as their ISO text. Not read (calamine does not expose them):
//! styles, number formats other than "is a date", comments, data validation, conditional
//! formats, row heights, hidden rows and columns, widths of .xls/.ods columns, merged cells of
//! .ods. Trailing empty cells of a row and trailing blank rows of a sheet are dropped (a file
//! cannot tell them from absent ones).
//!
//! What is not done here: judging IOC values (`crate::ioc`) and writing (`write`).

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use calamine::{
    Data, DataRef, Dimensions, Ods, OdsError, Range, Reader, SheetType, SheetVisible, Xls,
    XlsError, Xlsx, XlsxError, open_workbook,
};
use chrono::{NaiveDate, NaiveDateTime};

use crate::config::WorkbookSettings;

use super::header::{find_tracking, is_blank_row, no_rows};
use super::{
    CellValue, Sheet, SheetLayout, SourceFormat, TrackedRow, Tracking, Workbook, WorkbookError,
};

/// Numbers from here on have lost digits in Excel (it keeps 15 significant digits).
const PRECISE_LIMIT: f64 = 1e15;

/// Read the workbook at `path`: every sheet, then the tracking sheet and its columns.
///
/// The extension decides the reader, in any case (`.XLSX` is `.xlsx`). Fails, with a one-line
/// message naming the file, when the file is missing, open in Excel or LibreOffice (lock file
/// beside it), not a spreadsheet, corrupt, password-protected, without the header, without
/// the `IOC Value` column, or without any data row under the header.
pub fn read(
    path: &Path,
    settings: &WorkbookSettings,
) -> Result<(Workbook, Tracking), WorkbookError> {
    let workbook = read_workbook(path)?;
    let tracking = find_tracking(&workbook, settings)?;
    let sheet = &workbook.sheets[tracking.sheet];
    if sheet
        .rows
        .iter()
        .skip(tracking.header_row + 1)
        .all(|r| is_blank_row(r))
    {
        return Err(no_rows(path, sheet, &tracking));
    }
    Ok((workbook, tracking))
}

/// Read every sheet of the file, without looking for the header.
pub fn read_workbook(path: &Path) -> Result<Workbook, WorkbookError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(WorkbookError::Unreadable {
                path: path.to_path_buf(),
                detail: "it is a folder, not a file".into(),
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(WorkbookError::NotFound {
                path: path.to_path_buf(),
            });
        }
        Err(e) => {
            return Err(WorkbookError::Unreadable {
                path: path.to_path_buf(),
                detail: e.to_string(),
            });
        }
    }
    let format = source_format(path)?;
    check_not_open(path)?;
    let sheets = match format {
        SourceFormat::Csv => {
            let bytes = std::fs::read(path).map_err(|e| WorkbookError::Unreadable {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
            vec![super::csv::read_csv(path, bytes)?]
        }
        SourceFormat::Xlsx | SourceFormat::Xlsm => {
            guarded(path, format, || load_xlsx(path, format))?
        }
        SourceFormat::Xls => guarded(path, format, || load::<Xls<_>>(path, format))?,
        SourceFormat::Ods => guarded(path, format, || load::<Ods<_>>(path, format))?,
    };
    Ok(Workbook {
        path: path.to_path_buf(),
        format,
        sheets,
    })
}

thread_local! {
    static QUIET_PANICS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True while this thread runs a parser that may panic on a damaged file (calamine 0.38 does on
/// some damaged `.xls` files): the binary's panic hook stays quiet then, and the panic becomes a
/// one-line "corrupt" error.
pub fn quiet_panics() -> bool {
    QUIET_PANICS.with(|q| q.get())
}

/// Run a parser; a panic inside it is a corrupt file, never a crash of the run.
fn guarded<T>(
    path: &Path,
    format: SourceFormat,
    parse: impl FnOnce() -> Result<T, WorkbookError>,
) -> Result<T, WorkbookError> {
    let was = QUIET_PANICS.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse));
    QUIET_PANICS.with(|q| q.set(was));
    result.unwrap_or_else(|_| {
        Err(WorkbookError::Corrupt {
            path: path.to_path_buf(),
            format: format_name(format),
            detail: "the file is damaged (its reader gave up on it)".into(),
        })
    })
}

/// The format from the extension, lower-cased (calamine's own dispatch is case-sensitive).
fn source_format(path: &Path) -> Result<SourceFormat, WorkbookError> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    Ok(match extension.as_str() {
        "xlsx" => SourceFormat::Xlsx,
        "xlsm" => SourceFormat::Xlsm,
        "xls" => SourceFormat::Xls,
        "ods" => SourceFormat::Ods,
        "csv" => SourceFormat::Csv,
        _ => {
            return Err(WorkbookError::NotASpreadsheet {
                path: path.to_path_buf(),
                extension: if extension.is_empty() {
                    "no extension".into()
                } else {
                    format!("extension \".{extension}\"")
                },
            });
        }
    })
}

fn format_name(format: SourceFormat) -> &'static str {
    match format {
        SourceFormat::Xlsx => "Excel (.xlsx)",
        SourceFormat::Xlsm => "Excel (.xlsm)",
        SourceFormat::Xls => "Excel 97-2003 (.xls)",
        SourceFormat::Ods => "OpenDocument (.ods)",
        SourceFormat::Csv => "CSV",
    }
}

/// Fail when Excel (`~$name`) or LibreOffice (`.~lock.name#`) has a lock file beside the
/// workbook: the analyst has it open, and a rewrite would fail or be overwritten by their save.
pub fn check_not_open(path: &Path) -> Result<(), WorkbookError> {
    let Some(name) = path.file_name() else {
        return Ok(());
    };
    let name = name.to_string_lossy();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    for (app, lock) in [
        ("Excel", format!("~${name}")),
        ("LibreOffice", format!(".~lock.{name}#")),
    ] {
        let lock = dir.join(lock);
        if lock.exists() {
            return Err(WorkbookError::OpenElsewhere {
                path: path.to_path_buf(),
                app,
                lock: match path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    Some(_) => lock,
                    None => PathBuf::from(lock.file_name().unwrap_or_default()),
                },
            });
        }
    }
    Ok(())
}

/// Map calamine's error to ours: password, I/O, or "not a readable file of this format".
fn classify(path: &Path, format: SourceFormat, e: calamine::Error) -> WorkbookError {
    use calamine::Error as E;
    match e {
        E::Xlsx(XlsxError::Password) | E::Xls(XlsError::Password) | E::Ods(OdsError::Password) => {
            WorkbookError::PasswordProtected {
                path: path.to_path_buf(),
            }
        }
        E::Io(io)
        | E::Xlsx(XlsxError::Io(io))
        | E::Xls(XlsError::Io(io))
        | E::Ods(OdsError::Io(io)) => WorkbookError::Unreadable {
            path: path.to_path_buf(),
            detail: io.to_string(),
        },
        other => WorkbookError::Corrupt {
            path: path.to_path_buf(),
            format: format_name(format),
            // the reader's message can quote the damaged file (newlines, control characters):
            // escaped, so the error stays one line
            detail: match content_hint(path, format) {
                Some(hint) => format!("{}; {hint}", one_line(&other.to_string())),
                None => one_line(&other.to_string()),
            },
        },
    }
}

/// `s` with control characters (newlines included) escaped as `\n`, `\u{80}`.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// What the first bytes say the file really is, when that is not what its extension says.
fn content_hint(path: &Path, format: SourceFormat) -> Option<&'static str> {
    let mut head = [0u8; 512];
    let n = File::open(path).and_then(|mut f| f.read(&mut head)).ok()?;
    let head = &head[..n];
    if n == 0 {
        return Some("the file is empty");
    }
    let zip = head.starts_with(b"PK\x03\x04");
    let ole = head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    match format {
        SourceFormat::Xls if zip => Some("its content is an .xlsx or .ods file: rename it"),
        SourceFormat::Xlsx | SourceFormat::Xlsm | SourceFormat::Ods if ole => {
            Some("its content is an Excel 97-2003 file: rename it to .xls")
        }
        _ if text.contains("<html") || text.contains("<!doctype html") => {
            Some("its content is a web page (an HTML export), not a workbook")
        }
        _ => None,
    }
}

/// Merged regions, for the readers that expose them (.xlsx has its own path, `load_xlsx`).
trait MergedRegions {
    fn merged_regions_of(&mut self, sheet: &str) -> Vec<Dimensions>;
    /// ods formulas are OpenFormula (`of:=[.D2]*2`); the model keeps Excel syntax.
    fn excel_formula(&self, text: &str) -> String {
        text.to_string()
    }
}

impl<RS: Read + Seek> MergedRegions for Xls<RS> {
    fn merged_regions_of(&mut self, sheet: &str) -> Vec<Dimensions> {
        self.merge_cells_by_sheet_name(sheet).unwrap_or_default()
    }
}

impl<RS: Read + Seek> MergedRegions for Ods<RS> {
    fn merged_regions_of(&mut self, _sheet: &str) -> Vec<Dimensions> {
        Vec::new()
    }
    fn excel_formula(&self, text: &str) -> String {
        open_formula_to_excel(text)
    }
}

fn load<R>(path: &Path, format: SourceFormat) -> Result<Vec<Sheet>, WorkbookError>
where
    R: Reader<BufReader<File>> + MergedRegions,
    R::Error: Into<calamine::Error>,
{
    let err = |e: R::Error| classify(path, format, e.into());
    let mut book: R = open_workbook(path).map_err(err)?;
    let metadata = book.sheets_metadata().to_vec();
    let mut sheets = Vec::with_capacity(metadata.len());
    for meta in metadata {
        if !is_worksheet(path, &meta) {
            continue;
        }
        let values = book.worksheet_range(&meta.name).map_err(err)?;
        let formulas = match book.worksheet_formula(&meta.name) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(
                    "{}: the formulas of sheet {:?} cannot be read ({}); their cached values are kept",
                    path.display(),
                    meta.name,
                    e.into()
                );
                Range::empty()
            }
        };
        let merged = book
            .merged_regions_of(&meta.name)
            .into_iter()
            .filter_map(|d| {
                Some((
                    d.start.0,
                    u16::try_from(d.start.1).ok()?,
                    d.end.0,
                    u16::try_from(d.end.1).ok()?,
                ))
            })
            .collect();
        let rows = sheet_rows(&values, &formulas, |f| book.excel_formula(f));
        sheets.push(Sheet {
            name: meta.name,
            rows,
            layout: SheetLayout {
                merged,
                column_widths: Vec::new(),
                hidden: meta.visible != SheetVisible::Visible,
            },
        });
    }
    Ok(sheets)
}

/// Chart, dialog and macro sheets hold no cells: skipped, with a warning (the writer cannot
/// keep them either).
fn is_worksheet(path: &Path, meta: &calamine::Sheet) -> bool {
    if meta.typ == SheetType::WorkSheet {
        return true;
    }
    tracing::warn!(
        "{}: sheet {:?} is a {:?}, not a worksheet; it is not read",
        path.display(),
        meta.name,
        meta.typ
    );
    false
}

/// .xlsx/.xlsm: one streaming pass per sheet gives each cell's value and formula together
/// (instead of calamine's separate value, formula and merged-cell passes over the sheet XML),
/// while another thread reads the widths and merged regions (`xlsx_layout`).
fn load_xlsx(path: &Path, format: SourceFormat) -> Result<Vec<Sheet>, WorkbookError> {
    let err = |e: XlsxError| classify(path, format, e.into());
    let mut book: Xlsx<_> = open_workbook(path).map_err(err)?;
    std::thread::scope(|scope| {
        let layouts = scope.spawn(|| super::xlsx_layout::layouts(path));
        let metadata = book.sheets_metadata().to_vec();
        let mut sheets = Vec::with_capacity(metadata.len());
        for meta in metadata {
            if !is_worksheet(path, &meta) {
                continue;
            }
            let mut cells = book.worksheet_cells_reader(&meta.name).map_err(err)?;
            let mut rows: Vec<Vec<CellValue>> = Vec::new();
            while let Some(cell) = cells.next_cell_with_formula().map_err(err)? {
                let (r, c) = (cell.pos.0 as usize, cell.pos.1 as usize);
                let value = cell_value_owned(cell.value);
                let value = match cell.formula {
                    Some(formula) if !formula.is_empty() => with_formula(formula, value),
                    _ if value == CellValue::Empty => continue,
                    _ => value,
                };
                if rows.len() <= r {
                    rows.resize_with(r + 1, Vec::new);
                }
                let row = &mut rows[r];
                if row.len() <= c {
                    row.resize(c + 1, CellValue::Empty);
                }
                row[c] = value;
            }
            drop(cells);
            while rows.last().is_some_and(|r| r.is_empty()) {
                rows.pop();
            }
            sheets.push(Sheet {
                name: meta.name,
                rows,
                layout: SheetLayout {
                    merged: Vec::new(),
                    column_widths: Vec::new(),
                    hidden: meta.visible != SheetVisible::Visible,
                },
            });
        }
        let mut layouts = layouts.join().unwrap_or_default();
        for sheet in &mut sheets {
            if let Some(layout) = layouts.remove(&sheet.name) {
                // Widths past the used area (a `<col max="16384">` span) carry nothing.
                let used_width = sheet.rows.iter().map(Vec::len).max().unwrap_or(0);
                sheet.layout.column_widths = layout
                    .widths
                    .into_iter()
                    .filter(|&(col, _)| usize::from(col) < used_width)
                    .collect();
                sheet.layout.merged = layout.merged;
            }
        }
        Ok(sheets)
    })
}

/// A formula cell; an error constant (`=#N/A`, which is how the writer stores an `Error` cell,
/// rust_xlsxwriter having no error cells) reads back as the error.
fn with_formula(formula: String, cached: CellValue) -> CellValue {
    match cached {
        CellValue::Error(e) if formula == e => CellValue::Error(e),
        cached => CellValue::Formula {
            formula,
            cached: Box::new(cached),
        },
    }
}

/// Put every cell back at its absolute position from A1 and attach formulas to their cached
/// values. Rows are ragged (trailing empty cells dropped); trailing blank rows are dropped.
fn sheet_rows(
    values: &Range<Data>,
    formulas: &Range<String>,
    excel_formula: impl Fn(&str) -> String,
) -> Vec<Vec<CellValue>> {
    let mut rows: Vec<Vec<CellValue>> = Vec::new();
    if let Some((r0, c0)) = values.start() {
        let c0 = c0 as usize;
        rows.resize_with(r0 as usize, Vec::new);
        for row in values.rows() {
            let mut out = Vec::new();
            if let Some(last) = row.iter().rposition(|d| !matches!(d, Data::Empty)) {
                out.reserve(c0 + last + 1);
                out.resize(c0, CellValue::Empty);
                out.extend(row[..=last].iter().map(cell_value));
            }
            rows.push(out);
        }
    }
    if let Some((fr0, fc0)) = formulas.start() {
        for (r, c, text) in formulas.used_cells() {
            if text.is_empty() {
                continue;
            }
            let (r, c) = (fr0 as usize + r, fc0 as usize + c);
            if rows.len() <= r {
                rows.resize_with(r + 1, Vec::new);
            }
            let row = &mut rows[r];
            if row.len() <= c {
                row.resize(c + 1, CellValue::Empty);
            }
            let cached = std::mem::replace(&mut row[c], CellValue::Empty);
            row[c] = with_formula(excel_formula(text), cached);
        }
    }
    while rows.last().is_some_and(|r| r.is_empty()) {
        rows.pop();
    }
    rows
}

/// One streamed .xlsx value in the model, the same as [`cell_value`] gives for the matching
/// `Data`. Takes the value by value: an inline string moves into the model, not copied.
fn cell_value_owned(d: DataRef<'_>) -> CellValue {
    match d {
        DataRef::SharedString(s) => CellValue::String(s.to_string()),
        DataRef::String(s) | DataRef::DurationIso(s) => CellValue::String(s),
        DataRef::Empty => CellValue::Empty,
        DataRef::Float(f) => CellValue::Number(f),
        DataRef::Int(i) => CellValue::Number(i as f64),
        DataRef::Bool(b) => CellValue::Bool(b),
        DataRef::DateTime(dt) => cell_value(&Data::DateTime(dt)),
        DataRef::DateTimeIso(s) => cell_value(&Data::DateTimeIso(s)),
        DataRef::Error(e) => CellValue::Error(e.to_string()),
    }
}

/// One calamine value in the model.
fn cell_value(d: &Data) -> CellValue {
    match d {
        Data::Empty => CellValue::Empty,
        Data::String(s) => CellValue::String(s.clone()),
        Data::Float(f) => CellValue::Number(*f),
        Data::Int(i) => CellValue::Number(*i as f64),
        Data::Bool(b) => CellValue::Bool(*b),
        Data::DateTime(dt) if dt.is_datetime() => match dt.as_datetime() {
            Some(ndt) => CellValue::DateTime(ndt),
            None => CellValue::Number(dt.as_f64()),
        },
        Data::DateTime(dt) => CellValue::Number(dt.as_f64()),
        Data::DateTimeIso(s) => match parse_iso_datetime(s) {
            Some(ndt) => CellValue::DateTime(ndt),
            None => CellValue::String(s.clone()),
        },
        Data::DurationIso(s) => CellValue::String(s.clone()),
        Data::Error(e) => CellValue::Error(e.to_string()),
    }
}

fn parse_iso_datetime(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

/// OpenFormula (`of:=SUM([.A1:.B2];[Other.C3])`) to Excel syntax (`SUM(A1:B2,Other!C3)`).
/// Handles references and argument separators outside string literals; anything else is
/// kept as written.
fn open_formula_to_excel(text: &str) -> String {
    let body = text
        .strip_prefix("of:=")
        .or_else(|| text.strip_prefix('='))
        .unwrap_or(text);
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_string = !in_string;
                out.push(c);
            }
            _ if in_string => out.push(c),
            ';' => out.push(','),
            '[' => {
                let mut reference = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    reference.push(d);
                }
                out.push_str(&open_reference_to_excel(&reference));
            }
            _ => out.push(c),
        }
    }
    out
}

/// `.A1` → `A1`, `Sheet2.A1` → `Sheet2!A1`, `$'My sheet'.A1:.B2` → `'My sheet'!A1:B2`.
fn open_reference_to_excel(reference: &str) -> String {
    reference
        .split(':')
        .map(|part| {
            let part = part.strip_prefix('$').unwrap_or(part);
            match part.rfind('.') {
                Some(0) => part[1..].to_string(),
                Some(i) => format!("{}!{}", &part[..i], &part[i + 1..]),
                None => part.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(":")
}

/// A cell as the text a person would see: numbers without a trailing `.0` and in full digits
/// (never `1e15`), dates as `yyyy-mm-dd` or `yyyy-mm-dd hh:mm`, booleans `TRUE`/`FALSE`,
/// errors as Excel spells them, formulas as their cached value.
pub fn render_cell(cell: &CellValue) -> String {
    match cell {
        CellValue::Empty => String::new(),
        CellValue::String(s) => s.clone(),
        CellValue::Number(f) => render_number(*f),
        CellValue::Bool(true) => "TRUE".into(),
        CellValue::Bool(false) => "FALSE".into(),
        CellValue::DateTime(dt) => render_datetime(dt),
        CellValue::Error(e) => e.clone(),
        CellValue::Formula { cached, .. } => render_cell(cached),
    }
}

fn render_number(f: f64) -> String {
    if f == 0.0 {
        // no "-0"
        "0".into()
    } else {
        // Rust's Display never uses an exponent and drops ".0": 42.0 → "42", 1e20 → "100000000000000000000".
        format!("{f}")
    }
}

fn render_datetime(dt: &NaiveDateTime) -> String {
    if dt.time() == chrono::NaiveTime::MIN {
        dt.format("%Y-%m-%d").to_string()
    } else {
        dt.format("%Y-%m-%d %H:%M").to_string()
    }
}

/// The reason given for a row whose `IOC Value` is a number Excel has rounded (see
/// [`TrackedRow::precision_lost`]).
pub fn precision_lost_reason() -> &'static str {
    "the IOC Value cell is a number with more than 15 digits, which Excel has rounded: \
     format the column as Text and type the value again"
}

impl TrackedRow {
    /// The row's IOC, parsed from `raw_value` with the declared kind (`crate::ioc::Ioc::parse`),
    /// or the reason it is not usable, as shown to the analyst. A value Excel has rounded
    /// ([`TrackedRow::precision_lost`]) is never parsed: its digits are not the analyst's.
    /// `validate` and `run` both decide validity here.
    pub fn ioc(&self) -> Result<crate::ioc::Ioc, String> {
        if self.precision_lost {
            return Err(precision_lost_reason().to_string());
        }
        crate::ioc::Ioc::parse(&self.raw_value, Some(&self.declared_kind))
            .map_err(|e| e.to_string())
    }
}

fn plain_number(cell: &CellValue) -> Option<f64> {
    match cell {
        CellValue::Number(f) => Some(*f),
        CellValue::Formula { cached, .. } => plain_number(cached),
        _ => None,
    }
}

fn number_in(cell: &CellValue) -> Option<f64> {
    match cell {
        CellValue::Number(f) => Some(*f),
        CellValue::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        CellValue::Formula { cached, .. } => number_in(cached),
        _ => None,
    }
}

fn datetime_in(cell: &CellValue) -> Option<NaiveDateTime> {
    match cell {
        CellValue::DateTime(dt) => Some(*dt),
        CellValue::String(s) => {
            let s = s.trim();
            ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                .or_else(|| parse_iso_datetime(s))
        }
        CellValue::Formula { cached, .. } => datetime_in(cached),
        _ => None,
    }
}

/// The non-blank data rows under the header of the tracking sheet, in sheet order. Blank
/// rows are skipped here but stay in the model (the writer keeps them).
pub fn tracked_rows(wb: &Workbook, t: &Tracking) -> Vec<TrackedRow> {
    let Some(sheet) = wb.sheets.get(t.sheet) else {
        return Vec::new();
    };
    let columns = &t.columns;
    sheet
        .rows
        .iter()
        .enumerate()
        .skip(t.header_row + 1)
        .filter(|(_, row)| !is_blank_row(row))
        .map(|(index, row)| {
            let cell = |col: Option<usize>| col.and_then(|c| row.get(c));
            let text = |col: Option<usize>| {
                cell(col)
                    .map(|c| render_cell(c).trim().to_string())
                    .unwrap_or_default()
            };
            let value_cell = cell(Some(columns.ioc_value));
            TrackedRow {
                index,
                date: text(columns.date),
                analyst: text(columns.analyst),
                malware: text(columns.malware),
                declared_kind: text(columns.ioc_type),
                raw_value: value_cell.map(render_cell).unwrap_or_default(),
                score: cell(columns.score).and_then(number_in),
                status: text(columns.status),
                last_checked: cell(columns.last_checked).and_then(datetime_in),
                precision_lost: value_cell
                    .and_then(plain_number)
                    .is_some_and(|f| f.abs() >= PRECISE_LIMIT),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use chrono::NaiveDate;
    use rust_xlsxwriter::{Format, Formula, Workbook as XlsxWorkbook};

    #[test]
    fn a_parser_panic_is_a_one_line_corrupt_error_and_stays_quiet() {
        let path = Path::new("damaged.xls");
        let err = guarded(path, SourceFormat::Xls, || -> Result<(), WorkbookError> {
            assert!(quiet_panics(), "the panic hook is told to stay quiet");
            panic!("slice index out of range")
        })
        .unwrap_err();
        assert!(matches!(err, WorkbookError::Corrupt { .. }), "{err:?}");
        assert!(!err.to_string().contains('\n'));
        assert!(!quiet_panics(), "reset after the parser returns");
    }

    fn settings() -> WorkbookSettings {
        Settings::defaults().workbook
    }

    fn s(v: &str) -> CellValue {
        CellValue::String(v.into())
    }

    fn dt(y: i32, m: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
    }

    /// A workbook with a title sheet, a tracking sheet starting at B3 (a blank row, a formula,
    /// a date, an error, a number-typed hash, a merged title) and a hidden sheet.
    fn sample(path: &Path) {
        let mut wb = XlsxWorkbook::new();
        let date = Format::new().set_num_format("yyyy-mm-dd hh:mm");
        let notes = wb.add_worksheet().set_name("Notes").unwrap();
        notes.write(0, 0, "read me").unwrap();
        let ws = wb.add_worksheet().set_name("IOCs").unwrap();
        ws.merge_range(0, 1, 0, 4, "IOC tracking", &Format::new())
            .unwrap();
        for (c, h) in ["Date", "IOC", "IOC Value", "Current Score", "Ticket"]
            .iter()
            .enumerate()
        {
            ws.write(2, 1 + c as u16, *h).unwrap();
        }
        ws.write_datetime_with_format(3, 1, dt(2024, 1, 15, 13, 30), &date)
            .unwrap();
        ws.write(3, 2, "MD5").unwrap();
        ws.write(3, 3, "000959").unwrap();
        ws.write(3, 4, 3).unwrap();
        ws.write_formula(3, 5, Formula::new("=E4*2").set_result("6"))
            .unwrap();
        // row 5 (index 4) blank
        ws.write(5, 2, "Hash").unwrap();
        ws.write(5, 3, 1234567890123456789.0).unwrap();
        ws.write(5, 4, "N/A").unwrap();
        ws.write(6, 3, 42).unwrap();
        ws.write_formula(6, 4, Formula::new("=1/0").set_result("#DIV/0!"))
            .unwrap();
        ws.write_formula(6, 5, Formula::new("=#N/A").set_result("#N/A"))
            .unwrap();
        let hidden = wb.add_worksheet().set_name("Old").unwrap();
        hidden.write(0, 0, true).unwrap();
        hidden.set_hidden(true);
        wb.save(path).unwrap();
    }

    #[test]
    fn reads_every_sheet_at_absolute_positions_with_types() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.XLSX");
        sample(&path);
        let (wb, t) = read(&path, &settings()).unwrap();
        assert_eq!(wb.format, SourceFormat::Xlsx);
        let names: Vec<_> = wb.sheets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Notes", "IOCs", "Old"]);
        assert!(!wb.sheets[1].layout.hidden && wb.sheets[2].layout.hidden);
        assert_eq!(wb.sheets[2].rows, vec![vec![CellValue::Bool(true)]]);
        assert_eq!(t.sheet, 1);
        assert_eq!(t.header_row, 2);
        assert_eq!(t.columns.ioc_value, 3);
        assert_eq!(t.columns.ioc_type, Some(2));
        assert_eq!(t.columns.score, Some(4));
        let ioc = &wb.sheets[1];
        assert_eq!(ioc.layout.merged, vec![(0, 1, 0, 4)]);
        assert_eq!(ioc.rows[0][1], s("IOC tracking"));
        assert!(ioc.rows[1].is_empty());
        assert_eq!(
            ioc.rows[3],
            vec![
                CellValue::Empty,
                CellValue::DateTime(dt(2024, 1, 15, 13, 30)),
                s("MD5"),
                s("000959"),
                CellValue::Number(3.0),
                CellValue::Formula {
                    formula: "E4*2".into(),
                    cached: Box::new(CellValue::Number(6.0))
                },
            ]
        );
        assert!(ioc.rows[4].is_empty());
        assert_eq!(
            ioc.rows[6][4],
            CellValue::Formula {
                formula: "1/0".into(),
                cached: Box::new(CellValue::Error("#DIV/0!".into()))
            }
        );
        assert_eq!(ioc.rows[6][5], CellValue::Error("#N/A".into()));
        assert_eq!(ioc.rows.len(), 7);
    }

    #[test]
    fn tracked_rows_skip_blank_rows_and_render_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.xlsx");
        sample(&path);
        let (wb, t) = read(&path, &settings()).unwrap();
        let rows = tracked_rows(&wb, &t);
        assert_eq!(rows.iter().map(|r| r.index).collect::<Vec<_>>(), [3, 5, 6]);
        assert_eq!(rows[0].date, "2024-01-15 13:30");
        assert_eq!(rows[0].declared_kind, "MD5");
        assert_eq!(rows[0].raw_value, "000959");
        assert_eq!(rows[0].score, Some(3.0));
        assert!(!rows[0].precision_lost);
        assert_eq!(rows[1].raw_value, "1234567890123456800");
        assert!(rows[1].precision_lost);
        assert_eq!(rows[1].score, None, "N/A is no score");
        assert_eq!(rows[2].raw_value, "42");
        assert!(!rows[2].precision_lost);
        assert_eq!(rows[2].declared_kind, "");
    }

    #[test]
    fn tracked_row_ioc_refuses_rounded_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.xlsx");
        sample(&path);
        let (wb, t) = read(&path, &settings()).unwrap();
        let rows = tracked_rows(&wb, &t);
        assert_eq!(
            rows[1].ioc().unwrap_err(),
            precision_lost_reason(),
            "a rounded number is never parsed"
        );
        // "000959" declared MD5: the parser's reason comes through
        assert!(rows[0].ioc().unwrap_err().contains("MD5"));
        let mut row = rows[0].clone();
        row.raw_value = "hxxp://198.51.100[.]7/x".into();
        row.declared_kind = "URL".into();
        assert_eq!(row.ioc().unwrap().value(), "http://198.51.100.7/x");
    }

    #[test]
    fn missing_file_and_wrong_extension() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.xlsx");
        let e = read(&missing, &settings()).unwrap_err();
        assert!(matches!(e, WorkbookError::NotFound { .. }), "{e}");
        let txt = dir.path().join("iocs.txt");
        std::fs::write(&txt, "IOC Value\nexample.com\n").unwrap();
        let e = read(&txt, &settings()).unwrap_err().to_string();
        assert!(
            e.contains("is not a spreadsheet ioc-tracker reads (extension \".txt\")"),
            "{e}"
        );
        let bare = dir.path().join("iocs");
        std::fs::write(&bare, "x").unwrap();
        let e = read(&bare, &settings()).unwrap_err().to_string();
        assert!(
            e.contains("iocs is not a spreadsheet ioc-tracker reads (no extension)"),
            "{e}"
        );
    }

    #[test]
    fn random_bytes_are_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.xlsx");
        std::fs::write(
            &path,
            (0..2000u32)
                .map(|i| (i * 7919 % 251) as u8)
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let e = read(&path, &settings()).unwrap_err();
        assert!(matches!(e, WorkbookError::Corrupt { .. }), "{e}");
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn excel_and_libreoffice_lock_files_stop_the_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.xlsx");
        sample(&path);
        let lock = dir.path().join("~$book.xlsx");
        std::fs::write(&lock, b"").unwrap();
        let e = read(&path, &settings()).unwrap_err().to_string();
        assert!(e.contains("is open in Excel (lock file "), "{e}");
        assert!(e.contains("~$book.xlsx): close it and run again"), "{e}");
        std::fs::remove_file(&lock).unwrap();
        std::fs::write(dir.path().join(".~lock.book.xlsx#"), b"").unwrap();
        let e = check_not_open(&path).unwrap_err().to_string();
        assert!(e.contains("is open in LibreOffice"), "{e}");
    }

    #[test]
    fn header_without_rows_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.csv");
        std::fs::write(&path, "IOC,IOC Value\n,\n\n").unwrap();
        let e = read(&path, &settings()).unwrap_err().to_string();
        assert!(
            e.contains("header on row 1 but no IOC rows below it"),
            "{e}"
        );
    }

    #[test]
    fn cell_values_from_calamine() {
        assert_eq!(cell_value(&Data::Int(7)), CellValue::Number(7.0));
        assert_eq!(
            cell_value(&Data::DateTimeIso("2024-01-15T13:30:00".into())),
            CellValue::DateTime(dt(2024, 1, 15, 13, 30))
        );
        assert_eq!(
            cell_value(&Data::DateTimeIso("2024-01-15".into())),
            CellValue::DateTime(dt(2024, 1, 15, 0, 0))
        );
        assert_eq!(
            cell_value(&Data::Error(calamine::CellErrorType::NA)),
            CellValue::Error("#N/A".into())
        );
        assert_eq!(cell_value(&Data::DurationIso("PT1H".into())), s("PT1H"));
    }

    #[test]
    fn a_streamed_value_reads_as_the_same_value_from_a_range() {
        use calamine::{CellErrorType, ExcelDateTime, ExcelDateTimeType};
        let serial = 45306.5625; // 2024-01-15 13:30
        let shared = String::from("shared text");
        let values = [
            DataRef::Empty,
            DataRef::Int(7),
            DataRef::Float(-0.5),
            DataRef::Bool(true),
            DataRef::String("=not a formula".into()),
            DataRef::SharedString(&shared),
            DataRef::DateTime(ExcelDateTime::new(
                serial,
                ExcelDateTimeType::DateTime,
                false,
            )),
            DataRef::DateTime(ExcelDateTime::new(
                serial,
                ExcelDateTimeType::TimeDelta,
                false,
            )),
            DataRef::DateTimeIso("2024-01-15T13:30:00".into()),
            DataRef::DateTimeIso("not a date".into()),
            DataRef::DurationIso("PT1H".into()),
            DataRef::Error(CellErrorType::Div0),
        ];
        for value in values {
            let expected = cell_value(&Data::from(value.clone()));
            assert_eq!(cell_value_owned(value.clone()), expected, "{value:?}");
        }
        assert_eq!(
            cell_value_owned(DataRef::DateTime(ExcelDateTime::new(
                serial,
                ExcelDateTimeType::DateTime,
                false
            ))),
            CellValue::DateTime(dt(2024, 1, 15, 13, 30))
        );
    }

    /// Rows of every width in any order: each row keeps its own cells at their columns.
    #[test]
    fn ragged_xlsx_rows_keep_their_own_width() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ragged.xlsx");
        let mut wb = XlsxWorkbook::new();
        let ws = wb.add_worksheet();
        for c in 0..10u16 {
            ws.write(0, c, f64::from(c)).unwrap();
        }
        ws.write(1, 1, "b2").unwrap();
        ws.write(3, 0, "a4").unwrap();
        ws.write(4, 12, "m5").unwrap();
        ws.write(5, 2, "c6").unwrap();
        wb.save(&path).unwrap();
        let book = read_workbook(&path).unwrap();
        let rows = &book.sheets[0].rows;
        assert_eq!(
            rows[0],
            (0..10)
                .map(|c| CellValue::Number(f64::from(c)))
                .collect::<Vec<_>>()
        );
        assert_eq!(rows[1], vec![CellValue::Empty, s("b2")]);
        assert!(rows[2].is_empty());
        assert_eq!(rows[3], vec![s("a4")]);
        assert_eq!(rows[4].len(), 13);
        assert_eq!(rows[4][12], s("m5"));
        assert!(rows[4][..12].iter().all(|c| *c == CellValue::Empty));
        assert_eq!(rows[5], vec![CellValue::Empty, CellValue::Empty, s("c6")]);
        assert_eq!(rows.len(), 6);
    }

    #[test]
    fn renders_numbers_like_a_person_reads_them() {
        assert_eq!(render_number(42.0), "42");
        assert_eq!(render_number(-0.0), "0");
        assert_eq!(render_number(3.5), "3.5");
        assert_eq!(render_number(1e20), "100000000000000000000");
        assert_eq!(render_cell(&CellValue::Bool(false)), "FALSE");
        assert_eq!(
            render_cell(&CellValue::DateTime(dt(2024, 2, 1, 0, 0))),
            "2024-02-01"
        );
    }

    #[test]
    fn open_formulas_become_excel_formulas() {
        assert_eq!(open_formula_to_excel("of:=[.D2]*2"), "D2*2");
        assert_eq!(
            open_formula_to_excel("of:=SUM([.A1:.B2];[Other.C3])"),
            "SUM(A1:B2,Other!C3)"
        );
        assert_eq!(
            open_formula_to_excel("of:=IF([.A1]=\"a;b\";1;2)"),
            "IF(A1=\"a;b\",1,2)"
        );
        assert_eq!(
            open_formula_to_excel("of:=[$'My sheet'.A1]"),
            "'My sheet'!A1"
        );
    }
}
