//! The workbook layer: read the analyst's tracking workbook into a faithful in-memory model,
//! find the tracking sheet and its columns, let the run edit the cells the tool owns, and write
//! it back atomically with a backup, nothing else lost.
//!
//! OWNERS: `read.rs` — workbook-read helper; `write.rs` (and editing helpers) — workbook-write
//! helper. The model in this file is their shared contract; additive changes only.

use std::path::PathBuf;

use chrono::NaiveDateTime;

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
}

/// Why a workbook could not be read or written. Messages name the file (and sheet, row) and
/// say what to do.
#[derive(Debug, thiserror::Error)]
pub enum WorkbookError {
    #[error("{0}")]
    Other(String),
}
