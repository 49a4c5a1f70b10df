//! The workbook layer: read the analyst's tracking workbook into a faithful in-memory model,
//! find the tracking sheet and its columns, let the run edit the cells the tool owns, and write
//! it back atomically with a backup, nothing else lost.
//!
//! OWNERS: `read.rs` — workbook-read helper; `write.rs` (and editing helpers) — workbook-write
//! helper. The model in this file is their shared contract; additive changes only.

mod csv;
pub mod formula_refs;
mod header;
mod read;
mod xlsx_layout;

pub use header::normalise_header;
pub use read::{
    check_not_open, precision_lost_reason, quiet_panics, read, read_workbook, render_cell,
    tracked_rows,
};

use std::path::PathBuf;

use chrono::NaiveDateTime;

pub mod edit;
pub mod write;

pub use write::{Saved, check_writable, output_path, save};

/// One cell's value, with its type kept: dates stay dates, numbers numbers, text text,
/// formulas formulas (with their cached value).
#[derive(Debug, Clone, PartialEq)]
pub enum CellValue {
    Empty,
    String(String),
    Number(f64),
    Bool(bool),
    /// a date or date-time (xlsx/xls serial with a date format, ods ISO value)
    DateTime(NaiveDateTime),
    /// `#N/A`, `#DIV/0!`, … as Excel spells it
    Error(String),
    /// formula text without the leading `=`, and the value Excel cached for it
    Formula {
        formula: String,
        cached: Box<CellValue>,
    },
}

impl CellValue {
    pub fn is_empty(&self) -> bool {
        match self {
            CellValue::Empty => true,
            CellValue::String(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

/// Presentation read from the source where the libraries can read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SheetLayout {
    /// (first_row, first_col, last_row, last_col), 0-based inclusive
    pub merged: Vec<(u32, u16, u32, u16)>,
    /// column index → width in characters
    pub column_widths: Vec<(u16, f64)>,
    pub hidden: bool,
}

/// One sheet: every row from row 1 (index 0), every cell from column A (index 0).
/// Rows may be ragged; a missing cell is `Empty`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Vec<CellValue>>,
    pub layout: SheetLayout,
}

/// The file format the workbook was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Xlsx,
    Xlsm,
    Xls,
    Ods,
    Csv,
}

/// The whole workbook, every sheet in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Workbook {
    pub path: PathBuf,
    pub format: SourceFormat,
    pub sheets: Vec<Sheet>,
}

/// Where the tracking columns are (0-based column indexes in the tracking sheet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    pub date: Option<usize>,
    pub analyst: Option<usize>,
    pub malware: Option<usize>,
    pub ioc_type: Option<usize>,
    pub ioc_value: usize,
    pub score: Option<usize>,
    pub status: Option<usize>,
    pub last_checked: Option<usize>,
    pub notes: Option<usize>,
}

/// The sheet that holds the IOCs, its header row and columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    /// index into `Workbook::sheets`
    pub sheet: usize,
    /// 0-based index of the header row
    pub header_row: usize,
    pub columns: Columns,
}

/// One non-blank data row of the tracking sheet, as the rest of the program sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedRow {
    /// 0-based index into the sheet's rows (the sheet's row number is `index + 1`)
    pub index: usize,
    /// dates shown as yyyy-mm-dd (or yyyy-mm-dd hh:mm when there is a time)
    pub date: String,
    pub analyst: String,
    pub malware: String,
    /// the `IOC` column as written ("SHA256", "Domain", "", …)
    pub declared_kind: String,
    /// the `IOC Value` cell as text, as written (a number cell rendered without ".0")
    pub raw_value: String,
    pub score: Option<f64>,
    pub status: String,
    pub last_checked: Option<NaiveDateTime>,
    /// The `IOC Value` cell is a number of 1e15 or more (a digit-only hash typed into Excel):
    /// Excel keeps only 15 significant digits, so `raw_value` may not be what the analyst
    /// typed. Such a row must be reported invalid ([`precision_lost_reason`]), never looked up.
    pub precision_lost: bool,
}

/// Why a workbook could not be read or written. Messages name the file (and sheet, row), say
/// what to do, and fit on one line (no `#[source]` chains: the cause is in the message).
#[derive(Debug, thiserror::Error)]
pub enum WorkbookError {
    // ---- read side (workbook-read helper) ----
    #[error("workbook {path} not found: check [workbook] path in the config or pass --workbook")]
    NotFound { path: PathBuf },
    #[error("cannot read workbook {path}: {detail}")]
    Unreadable { path: PathBuf, detail: String },
    #[error(
        "{path} is not a spreadsheet ioc-tracker reads ({extension}): use a .xlsx, .xlsm, .xls, .ods or .csv file (Excel: File > Save As > Excel Workbook)"
    )]
    NotASpreadsheet {
        path: PathBuf,
        /// `extension ".txt"` or `no extension`
        extension: String,
    },
    #[error(
        "{path} is not a readable {format} file ({detail}): open it in Excel or LibreOffice and save it again as .xlsx"
    )]
    Corrupt {
        path: PathBuf,
        format: &'static str,
        detail: String,
    },
    #[error(
        "{path} is password-protected: remove the password (Excel: File > Info > Protect Workbook > Encrypt with Password, clear it) and run again"
    )]
    PasswordProtected { path: PathBuf },
    #[error(
        "{path} is open in {app} (lock file {lock}): close it and run again (if {app} is not running, delete the stale lock file)"
    )]
    OpenElsewhere {
        path: PathBuf,
        app: &'static str,
        lock: PathBuf,
    },
    #[error("sheet {sheet:?} not found in {path} (sheets: {}): fix [workbook] sheet in the config", .available.join(", "))]
    SheetNotFound {
        path: PathBuf,
        sheet: String,
        available: Vec<String>,
    },
    #[error(
        "no header row found in {path}: looked for {} in the first {rows} rows of sheet(s) {}; rename the headers or set [workbook.columns] in the config",
        .looked_for.join(", "), .sheets.join(", ")
    )]
    NoHeader {
        path: PathBuf,
        looked_for: Vec<String>,
        sheets: Vec<String>,
        rows: usize,
    },
    #[error(
        "{path}, sheet {sheet:?}: the header on row {row} has no {column:?} column (headers found: {}): add or rename the column, or set [workbook.columns] ioc_value",
        .found.join(", ")
    )]
    MissingIocValue {
        path: PathBuf,
        sheet: String,
        /// the sheet's 1-based row number
        row: usize,
        column: String,
        found: Vec<String>,
    },
    #[error(
        "{path}, sheet {sheet:?}: header on row {row} but no IOC rows below it: add rows to track and run again"
    )]
    NoRows {
        path: PathBuf,
        sheet: String,
        /// the sheet's 1-based row number of the header
        row: usize,
    },
    // ---- end of read side ----
    #[error("{0}")]
    Other(String),

    // ---- write side (workbook-write helper: write.rs, edit.rs, report_xlsx.rs) ----
    /// the output folder or file could not be written (create, write, sync, rename)
    #[error(
        "cannot write {path}: {source}; check that the folder exists and is writable, or choose another location"
    )]
    WriteFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// rust_xlsxwriter refused a cell (text over 32,767 characters, row past 1,048,576, …)
    #[error("cannot write sheet '{sheet}' cell {cell} of {path}: {source}")]
    WriteCell {
        path: PathBuf,
        sheet: String,
        cell: String,
        #[source]
        source: Box<rust_xlsxwriter::XlsxError>,
    },
    /// rust_xlsxwriter refused the sheet or the workbook as a whole
    #[error("cannot build {path} (sheet '{sheet}'): {source}")]
    WriteSheet {
        path: PathBuf,
        sheet: String,
        #[source]
        source: Box<rust_xlsxwriter::XlsxError>,
    },
    /// Excel (or LibreOffice) has the workbook open: its `~$` lock file is beside it
    #[error(
        "{path} is open in Excel (lock file {lock} exists); close it there and run again (delete the lock file if Excel is not running)"
    )]
    OpenInExcel { path: PathBuf, lock: PathBuf },
    /// an edit named a row or sheet the workbook does not have
    #[error("cannot edit sheet '{sheet}': {reason}")]
    Edit { sheet: String, reason: String },
    // ---- end of write side ----
}
