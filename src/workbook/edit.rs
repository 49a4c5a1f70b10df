//! Editing the workbook model: the only changes the run makes to the analyst's workbook.
//! Pure functions on [`Workbook`]: add the tool's columns when absent, set a cell, and move
//! rows from the tracking sheet to the `Removed IOCs` sheet (never delete them).
//!
//! Nothing here touches disk (that is [`write`](super::write)) or decides what to change
//! (that is the run and the rules). Apply the cell updates (score, status, notes) before
//! moving rows, so the moved rows carry their final values.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;

use super::formula_refs::{DeletedRows, shift_for_deleted_rows};
use super::{CellValue, Sheet, SheetLayout, Tracking, Workbook, WorkbookError};
use crate::config::ColumnNames;

/// The sheet removed IOCs go to (matched ignoring case when it exists).
pub const REMOVED_SHEET: &str = "Removed IOCs";
/// The columns appended to the tracking header on the `Removed IOCs` sheet.
pub const REMOVED_ON: &str = "Removed On";
pub const SCORE_AT_REMOVAL: &str = "Score at Removal";
pub const REMOVAL_REASON: &str = "Removal Reason";

/// How many rows from the top of an existing `Removed IOCs` sheet are searched for its header.
const HEADER_SEARCH_ROWS: usize = 20;

/// One tracking row leaving the tracking sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Removal {
    /// 0-based index into the tracking sheet's rows (`TrackedRow::index`)
    pub index: usize,
    pub removed_on: NaiveDateTime,
    pub score: Option<u32>,
    pub reason: String,
}

/// A header name reduced for matching: case, spaces, `-` and `_` ignored.
fn header_key(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_' && *c != '\u{200b}')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The text of a header cell.
fn header_text(v: &CellValue) -> String {
    match v {
        CellValue::String(s) => s.trim().to_string(),
        CellValue::Number(n) => format!("{n}"),
        CellValue::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        CellValue::DateTime(dt) => super::write::date_text(dt),
        CellValue::Error(e) => e.clone(),
        CellValue::Formula { cached, .. } => header_text(cached),
        CellValue::Empty => String::new(),
    }
}

/// Number of cells up to the last non-blank one.
fn filled_width(row: &[CellValue]) -> usize {
    row.iter().rposition(|c| !c.is_empty()).map_or(0, |c| c + 1)
}

/// Sets one cell, growing the sheet's rows and the row's cells as needed.
/// Panics if `sheet` is not an index into `wb.sheets` (a programming error).
pub fn set_cell(wb: &mut Workbook, sheet: usize, row: usize, col: usize, v: CellValue) {
    let rows = &mut wb.sheets[sheet].rows;
    if rows.len() <= row {
        rows.resize_with(row + 1, Vec::new);
    }
    let cells = &mut rows[row];
    if cells.len() <= col {
        cells.resize(col + 1, CellValue::Empty);
    }
    cells[col] = v;
}

/// Makes sure the tracking header has `Current Score`, `Status`, `Last Checked` and `Notes`
/// (names from `[workbook.columns]`): a column already in the header (matched ignoring case,
/// spaces, `-` and `_`) is used; a missing one is appended after the last header cell — or
/// after the last cell any data row uses, when the analyst wrote beyond the header, so no
/// cell is overwritten — in that order. Updates `t.columns`.
pub fn ensure_tool_columns(wb: &mut Workbook, t: &mut Tracking, names: &ColumnNames) {
    let header: Vec<String> = wb.sheets[t.sheet]
        .rows
        .get(t.header_row)
        .map(|r| r.iter().map(header_text).collect())
        .unwrap_or_default();
    // after the header and after any cell the analyst put beyond it, so nothing is overwritten
    let mut end = wb.sheets[t.sheet]
        .rows
        .iter()
        .skip(t.header_row)
        .map(|r| filled_width(r))
        .max()
        .unwrap_or(0);
    let cols = &mut t.columns;
    let wanted: [(&mut Option<usize>, &str); 4] = [
        (&mut cols.score, &names.score),
        (&mut cols.status, &names.status),
        (&mut cols.last_checked, &names.last_checked),
        (&mut cols.notes, &names.notes),
    ];
    for (slot, name) in wanted {
        if slot.is_some() {
            continue;
        }
        let key = header_key(name);
        if let Some(i) = header.iter().position(|h| header_key(h) == key) {
            *slot = Some(i);
            continue;
        }
        set_cell(
            wb,
            t.sheet,
            t.header_row,
            end,
            CellValue::String(name.to_string()),
        );
        *slot = Some(end);
        end += 1;
    }
}

/// Moves tracking rows to the `Removed IOCs` sheet: they leave the tracking sheet (the rows
/// below move up, merged ranges below with them; nothing else on the sheet changes) and are
/// appended, in sheet order, to `Removed IOCs` with `Removed On`, `Score at Removal` and
/// `Removal Reason`.
///
/// The sheet is created right after the tracking sheet when absent, with the tracking header
/// plus those three columns. When it exists, rows go under its last non-blank row and cells
/// are matched to its columns by header name; a column it lacks is added to its header, so
/// nothing is dropped. Returns the index of the `Removed IOCs` sheet.
///
/// Formulas are kept right the way Excel keeps them when rows are deleted (see
/// [`formula_refs`](super::formula_refs)): every formula on every sheet that refers to the
/// tracking sheet (unqualified on the tracking sheet itself, `'Sheet'!A1` from anywhere,
/// `Removed IOCs` included) follows the rows that moved up, and a reference to a removed row
/// becomes `#REF!`. A formula cell of a moved row is archived on `Removed IOCs` as its cached
/// value: its references meant the tracking sheet and would point at the wrong sheet there.
pub fn move_rows_to_removed(
    wb: &mut Workbook,
    t: &Tracking,
    rows: &[Removal],
) -> Result<usize, WorkbookError> {
    let Some(tracking) = wb.sheets.get(t.sheet) else {
        return Err(WorkbookError::Edit {
            sheet: format!("#{}", t.sheet + 1),
            reason: format!("the workbook has {} sheets", wb.sheets.len()),
        });
    };
    let edit_err = |reason: String| WorkbookError::Edit {
        sheet: tracking.name.clone(),
        reason,
    };
    // sheet order, each row once
    let mut removals: BTreeMap<usize, &Removal> = BTreeMap::new();
    for r in rows {
        if r.index <= t.header_row || r.index >= tracking.rows.len() {
            return Err(edit_err(format!(
                "row {} is not a data row (the header is row {}, the last row is {})",
                r.index + 1,
                t.header_row + 1,
                tracking.rows.len()
            )));
        }
        if removals.insert(r.index, r).is_some() {
            return Err(edit_err(format!("row {} is removed twice", r.index + 1)));
        }
    }
    if tracking.name.trim().eq_ignore_ascii_case(REMOVED_SHEET) {
        return Err(edit_err(format!(
            "the tracking sheet is itself named '{REMOVED_SHEET}'; rename it or choose another sheet"
        )));
    }
    let tracking_header: Vec<CellValue> = tracking.rows[t.header_row].clone();
    let data_width = removals
        .keys()
        .map(|&i| filled_width(&tracking.rows[i]))
        .max()
        .unwrap_or(0)
        .max(filled_width(&tracking_header));
    // which columns hold anything in the rows that move (a blank-named column only gets a
    // place on an existing Removed IOCs sheet when it does)
    let has_data: Vec<bool> = (0..data_width)
        .map(|c| {
            removals
                .keys()
                .any(|&r| tracking.rows[r].get(c).is_some_and(|v| !v.is_empty()))
        })
        .collect();

    // the Removed IOCs sheet, its header row and the column of every tracking column
    let existing = wb
        .sheets
        .iter()
        .position(|s| s.name.trim().eq_ignore_ascii_case(REMOVED_SHEET));
    let removed_idx = match existing {
        Some(i) => i,
        None => {
            let at = t.sheet + 1;
            wb.sheets.insert(
                at,
                Sheet {
                    name: REMOVED_SHEET.to_string(),
                    rows: Vec::new(),
                    layout: SheetLayout::default(),
                },
            );
            at
        }
    };
    // a new sheet goes after the tracking sheet, an existing one keeps its place: the tracking
    // sheet's index is unchanged either way
    let tracking_sheet = t.sheet;

    let removed = &mut wb.sheets[removed_idx];
    // its header: the row (among the first 20) sharing the most names with the tracking
    // header, else its first non-blank row
    let wanted: Vec<String> = tracking_header
        .iter()
        .map(|c| header_key(&header_text(c)))
        .chain(
            [REMOVED_ON, SCORE_AT_REMOVAL, REMOVAL_REASON]
                .iter()
                .map(|n| header_key(n)),
        )
        .filter(|k| !k.is_empty())
        .collect();
    let matches = |r: &Vec<CellValue>| {
        r.iter()
            .filter(|c| wanted.contains(&header_key(&header_text(c))))
            .count()
    };
    let header_row = removed
        .rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .filter(|(_, r)| matches(r) > 0)
        .max_by_key(|(i, r)| (matches(r), std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
        .or_else(|| {
            removed
                .rows
                .iter()
                .take(HEADER_SEARCH_ROWS)
                .position(|r| filled_width(r) > 0)
        });
    let (header_row, positional) = match header_row {
        Some(h) => (h, false),
        None => {
            // a new (or blank) sheet: the tracking header, then the removal columns
            let mut header = tracking_header.clone();
            header.resize(data_width, CellValue::Empty);
            for name in [REMOVED_ON, SCORE_AT_REMOVAL, REMOVAL_REASON] {
                header.push(CellValue::String(name.to_string()));
            }
            if removed.rows.is_empty() {
                removed.rows.push(header);
            } else {
                removed.rows[0] = header;
            }
            (0, true)
        }
    };

    // column mapping: tracking column i → removed column; then the three removal columns
    let mut header_keys: HashMap<String, usize> = HashMap::new();
    let mut header_end = filled_width(&removed.rows[header_row]);
    for (i, cell) in removed.rows[header_row].iter().enumerate() {
        let k = header_key(&header_text(cell));
        if !k.is_empty() {
            header_keys.entry(k).or_insert(i);
        }
    }
    let mut column_for = |name: &str, fallback_pos: usize, rows: &mut Vec<Vec<CellValue>>| {
        if positional {
            return fallback_pos;
        }
        let name = if name.is_empty() {
            format!(
                "Column {}",
                super::write::cell_ref(0, fallback_pos as u16).trim_end_matches('1')
            )
        } else {
            name.to_string()
        };
        let key = header_key(&name);
        if let Some(&c) = header_keys.get(&key) {
            return c;
        }
        let c = header_end;
        header_end += 1;
        let header = &mut rows[header_row];
        if header.len() <= c {
            header.resize(c + 1, CellValue::Empty);
        }
        header[c] = CellValue::String(name);
        header_keys.insert(key, c);
        c
    };
    let mut map: Vec<Option<usize>> = Vec::with_capacity(data_width);
    for (i, &filled) in has_data.iter().enumerate() {
        let name = tracking_header.get(i).map(header_text).unwrap_or_default();
        if name.is_empty() && !filled && !positional {
            map.push(None);
        } else {
            map.push(Some(column_for(&name, i, &mut removed.rows)));
        }
    }
    let extra = [REMOVED_ON, SCORE_AT_REMOVAL, REMOVAL_REASON]
        .map(|name| column_for(name, 0, &mut removed.rows));
    let extra = if positional {
        [data_width, data_width + 1, data_width + 2]
    } else {
        extra
    };

    // take the rows out of the tracking sheet (one pass), adjusting merged ranges
    let tracking = &mut wb.sheets[tracking_sheet];
    let old_rows = std::mem::take(&mut tracking.rows);
    let mut taken = Vec::with_capacity(removals.len());
    for (i, row) in old_rows.into_iter().enumerate() {
        if removals.contains_key(&i) {
            taken.push((i, row));
        } else {
            tracking.rows.push(row);
        }
    }
    for &i in removals.keys().rev() {
        shift_merges(&mut tracking.layout.merged, i as u32);
    }
    // formulas everywhere that refer to the tracking sheet follow the rows that moved up
    let deleted_rows: Vec<u32> = removals.keys().map(|&i| i as u32 + 1).collect();
    let tracking_name = wb.sheets[tracking_sheet].name.clone();
    let deleted = DeletedRows {
        sheet: &tracking_name,
        rows: &deleted_rows,
    };
    for (s, sheet) in wb.sheets.iter_mut().enumerate() {
        for cell in sheet.rows.iter_mut().flatten() {
            if let CellValue::Formula { formula, .. } = cell {
                let shifted = shift_for_deleted_rows(formula, s == tracking_sheet, &deleted);
                if shifted != *formula {
                    *formula = shifted;
                }
            }
        }
    }

    // append under the last non-blank row of Removed IOCs
    let removed = &mut wb.sheets[removed_idx];
    let first = removed
        .rows
        .iter()
        .rposition(|r| filled_width(r) > 0)
        .map_or(header_row + 1, |r| r + 1)
        .max(header_row + 1);
    for (at, (i, cells)) in (first..).zip(taken) {
        let r = removals[&i];
        let width = map
            .iter()
            .flatten()
            .chain(extra.iter())
            .copied()
            .max()
            .map_or(0, |m| m + 1);
        let mut out = vec![CellValue::Empty; width];
        for (c, v) in cells.into_iter().enumerate() {
            if let Some(&Some(dest)) = map.get(c) {
                out[dest] = archived(v);
            }
        }
        out[extra[0]] = CellValue::DateTime(r.removed_on);
        out[extra[1]] = r
            .score
            .map_or(CellValue::Empty, |s| CellValue::Number(f64::from(s)));
        out[extra[2]] = CellValue::String(r.reason.clone());
        if removed.rows.len() <= at {
            removed.rows.resize_with(at + 1, Vec::new);
        }
        removed.rows[at] = out;
    }
    Ok(removed_idx)
}

/// A cell as archived on `Removed IOCs`: a formula becomes the value Excel cached for it.
fn archived(v: CellValue) -> CellValue {
    match v {
        CellValue::Formula { cached, .. } => archived(*cached),
        v => v,
    }
}

/// Adjusts merged ranges for the removal of row `r`: ranges below move up, a range spanning it
/// shrinks, a range that shrinks to one cell (or nothing) is dropped.
fn shift_merges(merged: &mut Vec<(u32, u16, u32, u16)>, r: u32) {
    merged.retain_mut(|m| {
        if m.2 < r {
            return true;
        }
        if m.0 > r {
            m.0 -= 1;
            m.2 -= 1;
            return true;
        }
        // the range spans row r
        if m.0 == m.2 {
            return false;
        }
        m.2 -= 1;
        (m.0, m.1) != (m.2, m.3)
    });
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use chrono::NaiveDate;

    use super::*;
    use crate::workbook::{Columns, SourceFormat};

    fn s(v: &str) -> CellValue {
        CellValue::String(v.to_string())
    }

    fn when() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 4)
            .unwrap()
            .and_hms_opt(16, 30, 0)
            .unwrap()
    }

    /// A title row, the header on row 2, four IOC rows (one blank row between), an extra
    /// column, a merged title, and a second sheet.
    fn book() -> (Workbook, Tracking) {
        let rows = vec![
            vec![s("IOC tracking 2026")],
            vec![
                s("Date"),
                s("IOC"),
                s("IOC Value"),
                s("Current Score"),
                s("Status"),
                s("Ticket"),
            ],
            vec![
                s("2026-01-01"),
                s("Domain"),
                s("a.example"),
                CellValue::Number(1.0),
                s("Active"),
                s("T-1"),
            ],
            vec![
                s("2026-01-02"),
                s("Domain"),
                s("b.example"),
                CellValue::Number(2.0),
                s("Active"),
                s("T-2"),
            ],
            vec![],
            vec![
                s("2026-01-03"),
                s("IP"),
                s("192.0.2.1"),
                CellValue::Number(3.0),
                s("Active"),
            ],
            vec![
                s("2026-01-04"),
                s("URL"),
                s("http://c.example/"),
                CellValue::Number(4.0),
                s("Active"),
                s("T-4"),
            ],
        ];
        let wb = Workbook {
            path: PathBuf::from("t.xlsx"),
            format: SourceFormat::Xlsx,
            sheets: vec![
                Sheet {
                    name: "IOCs".into(),
                    rows,
                    layout: SheetLayout {
                        merged: vec![(0, 0, 0, 5), (5, 5, 6, 5), (6, 0, 6, 1)],
                        column_widths: vec![(2, 40.0)],
                        hidden: false,
                    },
                },
                Sheet {
                    name: "Lists".into(),
                    rows: vec![vec![s("x")]],
                    layout: SheetLayout::default(),
                },
            ],
        };
        let t = Tracking {
            sheet: 0,
            header_row: 1,
            columns: Columns {
                date: Some(0),
                ioc_type: Some(1),
                ioc_value: 2,
                score: Some(3),
                status: Some(4),
                ..Columns::default()
            },
        };
        (wb, t)
    }

    #[test]
    fn set_cell_grows_ragged_rows_and_the_sheet() {
        let (mut wb, _) = book();
        set_cell(&mut wb, 1, 3, 2, s("new"));
        assert_eq!(wb.sheets[1].rows.len(), 4);
        assert_eq!(
            wb.sheets[1].rows[3],
            vec![CellValue::Empty, CellValue::Empty, s("new")]
        );
        set_cell(&mut wb, 0, 5, 7, CellValue::Number(9.0));
        assert_eq!(wb.sheets[0].rows[5].len(), 8);
        assert_eq!(wb.sheets[0].rows[5][2], s("192.0.2.1"));
        assert_eq!(wb.sheets[0].rows[5][7], CellValue::Number(9.0));
    }

    #[test]
    fn ensure_tool_columns_appends_only_the_missing_ones_in_order() {
        let (mut wb, mut t) = book();
        let before = wb.sheets[0].rows.clone();
        ensure_tool_columns(&mut wb, &mut t, &ColumnNames::default());
        assert_eq!(t.columns.score, Some(3));
        assert_eq!(t.columns.status, Some(4));
        assert_eq!(t.columns.last_checked, Some(6));
        assert_eq!(t.columns.notes, Some(7));
        assert_eq!(wb.sheets[0].rows[1][6], s("Last Checked"));
        assert_eq!(wb.sheets[0].rows[1][7], s("Notes"));
        // nothing else changed
        assert_eq!(wb.sheets[0].rows[1][..6], before[1][..]);
        assert_eq!(wb.sheets[0].rows[0], before[0]);
        assert_eq!(wb.sheets[0].rows[2..], before[2..]);
        // idempotent
        let again = wb.clone();
        ensure_tool_columns(&mut wb, &mut t, &ColumnNames::default());
        assert_eq!(wb, again);
    }

    #[test]
    fn ensure_tool_columns_finds_unmapped_columns_by_name_and_adds_score_and_status() {
        let (mut wb, mut t) = book();
        wb.sheets[0].rows.truncate(2);
        wb.sheets[0].rows[1] = vec![s("IOC Value"), s("last_checked")];
        t.columns = Columns {
            ioc_value: 0,
            ..Columns::default()
        };
        ensure_tool_columns(&mut wb, &mut t, &ColumnNames::default());
        assert_eq!(t.columns.last_checked, Some(1));
        assert_eq!(t.columns.score, Some(2));
        assert_eq!(t.columns.status, Some(3));
        assert_eq!(t.columns.notes, Some(4));
        assert_eq!(
            wb.sheets[0].rows[1],
            vec![
                s("IOC Value"),
                s("last_checked"),
                s("Current Score"),
                s("Status"),
                s("Notes")
            ]
        );
    }

    #[test]
    fn ensure_tool_columns_never_overwrites_cells_beyond_the_header() {
        let (mut wb, mut t) = book();
        set_cell(&mut wb, 0, 3, 7, s("analyst's aside"));
        ensure_tool_columns(&mut wb, &mut t, &ColumnNames::default());
        assert_eq!(t.columns.last_checked, Some(8));
        assert_eq!(t.columns.notes, Some(9));
        assert_eq!(wb.sheets[0].rows[3][7], s("analyst's aside"));
    }

    #[test]
    fn moving_rows_creates_removed_iocs_after_the_tracking_sheet() {
        let (mut wb, t) = book();
        let before = wb.sheets[0].rows.clone();
        let removals = [
            Removal {
                index: 6,
                removed_on: when(),
                score: Some(9),
                reason: "flagged (score 9 ≥ 5)".into(),
            },
            Removal {
                index: 2,
                removed_on: when(),
                score: None,
                reason: "r2".into(),
            },
        ];
        let idx = move_rows_to_removed(&mut wb, &t, &removals).unwrap();
        assert_eq!(idx, 1);
        let names: Vec<_> = wb.sheets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["IOCs", "Removed IOCs", "Lists"]);
        // tracking: rows 2 and 6 gone, the rest moved up in order, blank row kept
        let tr = &wb.sheets[0].rows;
        assert_eq!(
            tr,
            &vec![
                before[0].clone(),
                before[1].clone(),
                before[3].clone(),
                before[4].clone(),
                before[5].clone()
            ]
        );
        // merges: title unchanged, (5..6, col 5) shrank to one cell → dropped,
        // row 6's own merge dropped
        assert_eq!(wb.sheets[0].layout.merged, vec![(0, 0, 0, 5)]);
        // removed sheet: header + two rows, sheet order, with the three removal columns
        let rm = &wb.sheets[1].rows;
        let mut header = before[1].clone();
        header.extend([s("Removed On"), s("Score at Removal"), s("Removal Reason")]);
        assert_eq!(rm[0], header);
        let mut r2 = before[2].clone();
        r2.extend([CellValue::DateTime(when()), CellValue::Empty, s("r2")]);
        assert_eq!(rm[1], r2);
        let mut r6 = before[6].clone();
        r6.extend([
            CellValue::DateTime(when()),
            CellValue::Number(9.0),
            s("flagged (score 9 ≥ 5)"),
        ]);
        assert_eq!(rm[2], r6);
        assert_eq!(rm.len(), 3);
    }

    #[test]
    fn moving_rows_appends_to_an_existing_sheet_by_header_name() {
        let (mut wb, t) = book();
        // an existing Removed IOCs sheet, columns in another order, one old row, a blank row
        wb.sheets.push(Sheet {
            name: "removed iocs".into(),
            rows: vec![
                vec![s("IOCs we stopped tracking")],
                vec![
                    s("removal reason"),
                    s("IOC VALUE"),
                    s("Date"),
                    s("Removed On"),
                ],
                vec![
                    s("old"),
                    s("z.example"),
                    s("2025-01-01"),
                    CellValue::DateTime(when()),
                ],
                vec![],
            ],
            layout: SheetLayout::default(),
        });
        let idx = move_rows_to_removed(
            &mut wb,
            &t,
            &[Removal {
                index: 5,
                removed_on: when(),
                score: Some(7),
                reason: "why".into(),
            }],
        )
        .unwrap();
        assert_eq!(idx, 2);
        let rm = &wb.sheets[2].rows;
        // missing columns added to its header, in tracking order, then Score at Removal
        assert_eq!(
            rm[1],
            vec![
                s("removal reason"),
                s("IOC VALUE"),
                s("Date"),
                s("Removed On"),
                s("IOC"),
                s("Current Score"),
                s("Status"),
                s("Ticket"),
                s("Score at Removal"),
            ]
        );
        assert_eq!(rm[0], vec![s("IOCs we stopped tracking")]);
        assert_eq!(rm[2][1], s("z.example"));
        assert_eq!(
            rm[3],
            vec![
                s("why"),
                s("192.0.2.1"),
                s("2026-01-03"),
                CellValue::DateTime(when()),
                s("IP"),
                CellValue::Number(3.0),
                s("Active"),
                CellValue::Empty,
                CellValue::Number(7.0),
            ]
        );
        assert_eq!(rm.len(), 4);
        assert_eq!(wb.sheets[0].rows.len(), 6);
    }

    fn f(formula: &str, cached: CellValue) -> CellValue {
        CellValue::Formula {
            formula: formula.to_string(),
            cached: Box::new(cached),
        }
    }

    #[test]
    fn moving_rows_rewrites_formulas_like_excel_and_archives_moved_ones_as_values() {
        let (mut wb, t) = book();
        // on the tracking sheet: row 4 (1-based) refers to itself, the total to the data rows
        set_cell(&mut wb, 0, 3, 6, f("LEN(C4)", CellValue::Number(9.0)));
        set_cell(&mut wb, 0, 6, 6, f("LEN(C7)", CellValue::Number(17.0)));
        set_cell(
            &mut wb,
            0,
            7,
            3,
            f("SUM($D$3:$D$7)+D3", CellValue::Number(11.0)),
        );
        // another sheet refers to the tracking sheet and to itself
        wb.sheets[1].rows[0] = vec![f("IOCs!C7&'iocs'!D3&C7", s("http://c.example/"))];
        // an existing Removed IOCs sheet with a formula reading the tracking sheet
        wb.sheets.push(Sheet {
            name: "Removed IOCs".into(),
            rows: vec![
                vec![s("IOC Value"), s("Removed On")],
                vec![
                    f("'IOCs'!C7", s("http://c.example/")),
                    CellValue::DateTime(when()),
                ],
            ],
            layout: SheetLayout::default(),
        });
        // rows 3 and 5 (1-based; index 2 and 4 — the blank row) go
        let removals = [2usize, 4].map(|index| Removal {
            index,
            removed_on: when(),
            score: None,
            reason: "r".into(),
        });
        let idx = move_rows_to_removed(&mut wb, &t, &removals).unwrap();
        assert_eq!(idx, 2);
        let tr = &wb.sheets[0].rows;
        assert_eq!(tr[2][6], f("LEN(C3)", CellValue::Number(9.0)));
        assert_eq!(tr[4][6], f("LEN(C5)", CellValue::Number(17.0)));
        assert_eq!(tr[5][3], f("SUM($D$3:$D$5)+#REF!", CellValue::Number(11.0)));
        assert_eq!(
            wb.sheets[1].rows[0][0],
            f("IOCs!C5&#REF!&C7", s("http://c.example/"))
        );
        let rm = &wb.sheets[2].rows;
        assert_eq!(rm[1][0], f("'IOCs'!C5", s("http://c.example/")));
        // the moved rows: no formula left on the archive sheet
        assert_eq!(rm.len(), 4);
        assert!(
            rm.iter()
                .skip(2)
                .flatten()
                .all(|c| !matches!(c, CellValue::Formula { .. })),
            "{rm:?}"
        );
    }

    #[test]
    fn a_moved_formula_is_archived_as_its_cached_value() {
        let (mut wb, t) = book();
        set_cell(&mut wb, 0, 2, 5, f("\"T-\"&D3", s("T-1")));
        move_rows_to_removed(
            &mut wb,
            &t,
            &[Removal {
                index: 2,
                removed_on: when(),
                score: None,
                reason: "r".into(),
            }],
        )
        .unwrap();
        assert_eq!(wb.sheets[1].rows[1][5], s("T-1"));
    }

    #[test]
    fn moving_a_header_or_missing_row_is_refused_and_changes_nothing() {
        let (mut wb, t) = book();
        let before = wb.clone();
        for bad in [0usize, 1, 7, 100] {
            let err = move_rows_to_removed(
                &mut wb,
                &t,
                &[Removal {
                    index: bad,
                    removed_on: when(),
                    score: None,
                    reason: String::new(),
                }],
            )
            .unwrap_err();
            assert!(err.to_string().contains("not a data row"), "{err}");
        }
        let twice = Removal {
            index: 2,
            removed_on: when(),
            score: None,
            reason: String::new(),
        };
        let err = move_rows_to_removed(&mut wb, &t, &[twice.clone(), twice]).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
        assert_eq!(wb, before);
    }
}
