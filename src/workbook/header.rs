//! Finding the tracking sheet, its header row and the tracking columns in a workbook that has
//! already been read into the model. Pure: no I/O, no calamine.
//!
//! Header names are matched after [`normalise_header`] (case, spaces, `-`, `_`, NBSP and
//! zero-width characters ignored), in any column order; extra columns are simply not tracked.
//! This module does not judge the data rows (that is `read::tracked_rows` and `crate::ioc`).

use std::path::Path;

use crate::config::{ColumnNames, WorkbookSettings};

use super::{CellValue, Columns, Sheet, Tracking, Workbook, WorkbookError};

/// How many rows from the top of a sheet are searched for the header.
pub const HEADER_SEARCH_ROWS: usize = 20;

/// A row with at least this many of the expected names but no `IOC Value` is taken for the
/// header, so that the error can say which column is missing instead of "no header".
const MIN_NAMES_FOR_A_HEADER: usize = 3;

/// The form header names are compared in: lower-case, without whitespace (including NBSP),
/// zero-width characters, `-` and `_`. `"Name of Analyst"`, `"name_of_analyst"` and
/// `"NAME-OF-ANALYST "` all become `"nameofanalyst"`.
pub fn normalise_header(s: &str) -> String {
    s.chars()
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(
                    c,
                    '-' | '_' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
                )
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The text of a header cell (a number or date in the header row counts as its text).
fn header_text(cell: &CellValue) -> Option<String> {
    let text = super::read::render_cell(cell);
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The expected names in display order, paired with a setter for `Columns`.
type Slot = fn(&mut Columns, usize);

fn expected(names: &ColumnNames) -> Vec<(&str, Slot)> {
    vec![
        (names.date.as_str(), |c, i| c.date = Some(i)),
        (names.analyst.as_str(), |c, i| c.analyst = Some(i)),
        (names.malware.as_str(), |c, i| c.malware = Some(i)),
        (names.ioc_type.as_str(), |c, i| c.ioc_type = Some(i)),
        (names.ioc_value.as_str(), |c, i| c.ioc_value = i),
        (names.score.as_str(), |c, i| c.score = Some(i)),
        (names.status.as_str(), |c, i| c.status = Some(i)),
        (names.last_checked.as_str(), |c, i| c.last_checked = Some(i)),
        (names.notes.as_str(), |c, i| c.notes = Some(i)),
    ]
}

/// What one row looks like as a header.
struct Candidate {
    row: usize,
    columns: Columns,
    has_ioc_value: bool,
    matched: usize,
    found: Vec<String>,
}

fn match_row(row_index: usize, row: &[CellValue], names: &ColumnNames) -> Candidate {
    let wanted = expected(names);
    let ioc_value_key = normalise_header(&names.ioc_value);
    let mut columns = Columns::default();
    let mut seen = vec![false; wanted.len()];
    let mut found = Vec::new();
    let mut has_ioc_value = false;
    for (col, cell) in row.iter().enumerate() {
        let Some(text) = header_text(cell) else {
            continue;
        };
        let key = normalise_header(&text);
        found.push(text);
        for (slot, (name, set)) in wanted.iter().enumerate() {
            // The first column with a name wins; a repeated header is an extra column.
            if !seen[slot] && normalise_header(name) == key {
                seen[slot] = true;
                set(&mut columns, col);
                if key == ioc_value_key {
                    has_ioc_value = true;
                }
            }
        }
    }
    Candidate {
        row: row_index,
        columns,
        has_ioc_value,
        matched: seen.iter().filter(|s| **s).count(),
        found,
    }
}

/// The header of one sheet: the first of its first [`HEADER_SEARCH_ROWS`] rows that has the
/// `IOC Value` column, else the best near-miss (a row with several expected names).
fn sheet_header(sheet: &Sheet, names: &ColumnNames) -> (Option<Candidate>, Option<Candidate>) {
    let mut near_miss: Option<Candidate> = None;
    for (i, row) in sheet.rows.iter().take(HEADER_SEARCH_ROWS).enumerate() {
        let candidate = match_row(i, row, names);
        if candidate.has_ioc_value {
            return (Some(candidate), near_miss);
        }
        if candidate.matched >= MIN_NAMES_FOR_A_HEADER
            && near_miss
                .as_ref()
                .is_none_or(|n| candidate.matched > n.matched)
        {
            near_miss = Some(candidate);
        }
    }
    (None, near_miss)
}

/// Find the tracking sheet (`[workbook] sheet`, else the first sheet with the header), its
/// header row and columns.
pub fn find_tracking(
    wb: &Workbook,
    settings: &WorkbookSettings,
) -> Result<Tracking, WorkbookError> {
    let names = &settings.columns;
    let candidates: Vec<usize> = match &settings.sheet {
        Some(wanted) => {
            let index = wb
                .sheets
                .iter()
                .position(|s| s.name == *wanted)
                .or_else(|| {
                    // Excel sheet names are case-insensitive.
                    wb.sheets
                        .iter()
                        .position(|s| s.name.to_lowercase() == wanted.to_lowercase())
                })
                .ok_or_else(|| WorkbookError::SheetNotFound {
                    path: wb.path.clone(),
                    sheet: wanted.clone(),
                    available: wb.sheets.iter().map(|s| s.name.clone()).collect(),
                })?;
            vec![index]
        }
        None => (0..wb.sheets.len()).collect(),
    };

    let mut first_near_miss: Option<(usize, Candidate)> = None;
    for &index in &candidates {
        let (header, near_miss) = sheet_header(&wb.sheets[index], names);
        if let Some(header) = header {
            return Ok(Tracking {
                sheet: index,
                header_row: header.row,
                columns: header.columns,
            });
        }
        if first_near_miss.is_none() {
            first_near_miss = near_miss.map(|n| (index, n));
        }
    }
    if let Some((index, near_miss)) = first_near_miss {
        return Err(WorkbookError::MissingIocValue {
            path: wb.path.clone(),
            sheet: wb.sheets[index].name.clone(),
            row: near_miss.row + 1,
            column: names.ioc_value.clone(),
            found: near_miss.found,
        });
    }
    Err(WorkbookError::NoHeader {
        path: wb.path.clone(),
        looked_for: expected(names)
            .iter()
            .take(7)
            .map(|(n, _)| (*n).to_string())
            .collect(),
        sheets: candidates
            .iter()
            .map(|&i| format!("{:?}", wb.sheets[i].name))
            .collect(),
        rows: HEADER_SEARCH_ROWS,
    })
}

/// `true` when every cell of the row is empty or only whitespace.
pub fn is_blank_row(row: &[CellValue]) -> bool {
    row.iter().all(CellValue::is_empty)
}

/// The error for a tracking sheet without data rows.
pub fn no_rows(path: &Path, sheet: &Sheet, tracking: &Tracking) -> WorkbookError {
    WorkbookError::NoRows {
        path: path.to_path_buf(),
        sheet: sheet.name.clone(),
        row: tracking.header_row + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::workbook::{SheetLayout, SourceFormat};
    use std::path::PathBuf;

    fn s(v: &str) -> CellValue {
        CellValue::String(v.into())
    }

    fn sheet(name: &str, rows: Vec<Vec<CellValue>>) -> Sheet {
        Sheet {
            name: name.into(),
            rows,
            layout: SheetLayout::default(),
        }
    }

    fn wb(sheets: Vec<Sheet>) -> Workbook {
        Workbook {
            path: PathBuf::from("t.xlsx"),
            format: SourceFormat::Xlsx,
            sheets,
        }
    }

    fn settings() -> WorkbookSettings {
        Settings::defaults().workbook
    }

    #[test]
    fn normalise_ignores_case_spaces_dashes_underscores_and_invisibles() {
        for v in [
            "IOC Value",
            "ioc_value",
            "IOC-VALUE",
            " ioc\u{a0}value ",
            "Ioc\u{200b}Value",
        ] {
            assert_eq!(normalise_header(v), "iocvalue", "{v:?}");
        }
        assert_ne!(normalise_header("IOC"), normalise_header("IOC Value"));
    }

    #[test]
    fn finds_reordered_header_below_a_title_with_extra_columns() {
        let w = wb(vec![
            sheet("Notes", vec![vec![s("just notes")]]),
            sheet(
                "IOCs",
                vec![
                    vec![s("IOC tracking")],
                    vec![],
                    vec![
                        s("ticket"),
                        s("ioc_value"),
                        s("STATUS"),
                        s("IOC"),
                        s("Date"),
                        s("last-checked"),
                    ],
                ],
            ),
        ]);
        let t = find_tracking(&w, &settings()).unwrap();
        assert_eq!(t.sheet, 1);
        assert_eq!(t.header_row, 2);
        assert_eq!(t.columns.ioc_value, 1);
        assert_eq!(t.columns.status, Some(2));
        assert_eq!(t.columns.ioc_type, Some(3));
        assert_eq!(t.columns.date, Some(4));
        assert_eq!(t.columns.last_checked, Some(5));
        assert_eq!(t.columns.notes, None);
        assert_eq!(t.columns.analyst, None);
    }

    #[test]
    fn configured_sheet_missing_lists_the_sheets() {
        let w = wb(vec![sheet("A", vec![]), sheet("B", vec![])]);
        let mut st = settings();
        st.sheet = Some("IOCs".into());
        let e = find_tracking(&w, &st).unwrap_err().to_string();
        assert!(e.contains("\"IOCs\"") && e.contains("sheets: A, B"), "{e}");
    }

    #[test]
    fn configured_sheet_is_the_only_one_searched() {
        let header = vec![s("IOC"), s("IOC Value")];
        let w = wb(vec![sheet("A", vec![header.clone()]), sheet("B", vec![])]);
        let mut st = settings();
        st.sheet = Some("b".into());
        let e = find_tracking(&w, &st).unwrap_err().to_string();
        assert!(e.starts_with("no header row found in t.xlsx"), "{e}");
        assert!(e.contains("sheet(s) \"B\""), "{e}");
    }

    #[test]
    fn missing_ioc_value_names_it_and_lists_the_headers() {
        let w = wb(vec![sheet(
            "IOCs",
            vec![vec![
                s("Date"),
                s("Name of Analyst"),
                s("IOC"),
                s("Indicator"),
            ]],
        )]);
        let e = find_tracking(&w, &settings()).unwrap_err().to_string();
        assert_eq!(
            e,
            "t.xlsx, sheet \"IOCs\": the header on row 1 has no \"IOC Value\" column (headers \
             found: Date, Name of Analyst, IOC, Indicator): add or rename the column, or set \
             [workbook.columns] ioc_value"
        );
    }

    #[test]
    fn header_beyond_row_20_is_not_found() {
        let mut rows = vec![vec![]; 20];
        rows.push(vec![s("IOC Value")]);
        let w = wb(vec![sheet("S", rows)]);
        let e = find_tracking(&w, &settings()).unwrap_err();
        assert!(matches!(e, WorkbookError::NoHeader { rows: 20, .. }), "{e}");
    }

    #[test]
    fn configured_column_names_are_used() {
        let mut st = settings();
        st.columns.ioc_value = "Indicator".into();
        let w = wb(vec![sheet("S", vec![vec![s("Kind"), s("INDICATOR")]])]);
        let t = find_tracking(&w, &st).unwrap();
        assert_eq!(t.columns.ioc_value, 1);
    }
}
