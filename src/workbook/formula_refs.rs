//! Rewriting the cell references of a formula after rows of one sheet were deleted, the way
//! Excel does it: references to rows below the deleted rows move up, a single cell on a
//! deleted row becomes `#REF!`, a range shrinks by the deleted rows inside it (and becomes
//! `#REF!` only when all its rows are gone), whole-row ranges (`3:5`) are adjusted like ranges
//! and whole-column ranges (`A:A`) are left alone. `$` markers are kept (deleting rows moves
//! absolute references too).
//!
//! Pure text in, text out (A1 syntax, formula without its leading `=`). It does not touch
//! string literals, function names (`LOG10(` is a function, not cell LOG10), defined names,
//! structured references (`Table[Col]`), references into other workbooks (`[1]Sheet!A1`),
//! 3-D references (`Sheet1:Sheet3!A1`) or references to other sheets. It does not know
//! R1C1 syntax, defined names' own formulas, conditional formats or data validations.

/// The deleted rows of one sheet, as the rewriter needs them.
#[derive(Debug, Clone)]
pub struct DeletedRows<'a> {
    /// the sheet the rows were deleted from (matched ignoring case in `Sheet!A1`)
    pub sheet: &'a str,
    /// 1-based row numbers, sorted ascending, each once
    pub rows: &'a [u32],
}

impl DeletedRows<'_> {
    /// How many deleted rows are above row `r` (1-based, `r` itself not counted).
    fn above(&self, r: u32) -> u32 {
        self.rows.partition_point(|&d| d < r) as u32
    }

    /// How many deleted rows are at or above row `r`.
    fn at_or_above(&self, r: u32) -> u32 {
        self.rows.partition_point(|&d| d <= r) as u32
    }

    fn is_deleted(&self, r: u32) -> bool {
        self.rows.binary_search(&r).is_ok()
    }

    /// The new first and last row of the rows `lo..=hi`, or `None` when all were deleted.
    fn range(&self, lo: u32, hi: u32) -> Option<(u32, u32)> {
        let (lo, hi) = (lo.min(hi), lo.max(hi));
        let new_lo = lo.saturating_sub(self.above(lo));
        let new_hi = hi.saturating_sub(self.at_or_above(hi));
        (new_hi >= new_lo).then_some((new_lo, new_hi))
    }
}

/// The last column (XFD) and row Excel has.
const MAX_COL: u32 = 16_384;
const MAX_ROW: u32 = 1_048_576;

/// Rewrites the references of `formula` (without `=`) into the sheet `deleted.sheet`:
/// unqualified ones when the formula is on that sheet (`on_that_sheet`), qualified ones
/// (`Sheet!A1`, `'Sheet name'!A1`) from any sheet. Returns the formula unchanged when
/// nothing refers to a deleted row or below one.
pub fn shift_for_deleted_rows(formula: &str, on_that_sheet: bool, deleted: &DeletedRows) -> String {
    if deleted.rows.is_empty() {
        return formula.to_string();
    }
    let s: Vec<char> = formula.chars().collect();
    let mut out = String::with_capacity(formula.len() + 8);
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        match c {
            '"' => {
                let end = quoted_end(&s, i, '"');
                out.extend(&s[i..end]);
                i = end;
            }
            '\'' => {
                // a quoted sheet name: 'My sheet'!A1 ('' is one apostrophe)
                let end = quoted_end(&s, i, '\'');
                if s.get(end) == Some(&'!') {
                    // `end` is just after the closing quote
                    let name = s[i + 1..end - 1]
                        .iter()
                        .collect::<String>()
                        .replace("''", "'");
                    let ours = !name.contains(':') && same_sheet(&name, deleted.sheet);
                    i = qualified(&s, i, end + 1, ours, deleted, &mut out);
                } else {
                    out.extend(&s[i..end]);
                    i = end;
                }
            }
            '[' => {
                // an external workbook ([1]Sheet!A1) or a structured reference: left alone,
                // together with what it qualifies
                let mut end = bracket_end(&s, i);
                let after = token_end(&s, end);
                if after > end && s.get(after) == Some(&'!') {
                    end = ref_end(&s, after + 1).unwrap_or(after + 1);
                } else if s.get(end) == Some(&'\'') {
                    let q = quoted_end(&s, end, '\'');
                    if s.get(q) == Some(&'!') {
                        end = ref_end(&s, q + 1).unwrap_or(q + 1);
                    }
                }
                out.extend(&s[i..end]);
                i = end;
            }
            '#' => {
                // an error literal (#REF!, #N/A, #DIV/0!) — or the spill operator after A1#
                let mut end = i + 1;
                while end < s.len() && (s[end].is_ascii_alphanumeric() || s[end] == '/') {
                    end += 1;
                }
                if end > i + 1 && matches!(s.get(end), Some('!') | Some('?')) {
                    end += 1;
                }
                out.extend(&s[i..end]);
                i = end;
            }
            c if is_token_char(c) => {
                if let Some((r, end)) = parse_ref(&s, i) {
                    if on_that_sheet {
                        out.push_str(&r.shifted(deleted));
                    } else {
                        out.extend(&s[i..end]);
                    }
                    i = end;
                    continue;
                }
                let end = token_end(&s, i);
                match s.get(end) {
                    // Sheet!A1
                    Some('!') => {
                        let name: String = s[i..end].iter().collect();
                        i = qualified(
                            &s,
                            i,
                            end + 1,
                            same_sheet(&name, deleted.sheet),
                            deleted,
                            &mut out,
                        );
                    }
                    // Sheet1:Sheet3!A1 (3-D): another sheet's business
                    Some(':') => {
                        let end2 = token_end(&s, end + 1);
                        if end2 > end + 1 && s.get(end2) == Some(&'!') {
                            let end3 = ref_end(&s, end2 + 1).unwrap_or(end2 + 1);
                            out.extend(&s[i..end3]);
                            i = end3;
                        } else {
                            out.extend(&s[i..end]);
                            i = end;
                        }
                    }
                    _ => {
                        out.extend(&s[i..end]);
                        i = end;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Writes the reference after a sheet prefix (`s[start..bang]`), shifted when the sheet is
/// ours; returns where the scan continues.
fn qualified(
    s: &[char],
    start: usize,
    bang: usize,
    ours: bool,
    deleted: &DeletedRows,
    out: &mut String,
) -> usize {
    match parse_ref(s, bang) {
        Some((r, end)) if ours => {
            let shifted = r.shifted(deleted);
            if shifted == REF_ERROR {
                out.push_str(REF_ERROR);
            } else {
                out.extend(&s[start..bang]);
                out.push_str(&shifted);
            }
            end
        }
        Some((_, end)) => {
            out.extend(&s[start..end]);
            end
        }
        None => {
            out.extend(&s[start..bang]);
            bang
        }
    }
}

const REF_ERROR: &str = "#REF!";

/// Sheet names are compared the way Excel does: ignoring case.
fn same_sheet(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// Characters of a name, number or cell reference.
fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '\\' | '$' | '?')
}

fn token_end(s: &[char], mut i: usize) -> usize {
    while i < s.len() && is_token_char(s[i]) {
        i += 1;
    }
    i
}

/// The index just after the quoted text starting at `s[i] == q` (a doubled `q` is one `q`).
fn quoted_end(s: &[char], i: usize, q: char) -> usize {
    let mut j = i + 1;
    while j < s.len() {
        if s[j] == q {
            if s.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    s.len()
}

/// The index just after the `[...]` group (nested brackets included) starting at `s[i]`.
fn bracket_end(s: &[char], i: usize) -> usize {
    let mut depth = 0usize;
    let mut j = i;
    while j < s.len() {
        match s[j] {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    s.len()
}

fn ref_end(s: &[char], i: usize) -> Option<usize> {
    parse_ref(s, i).map(|(_, end)| end)
}

/// One side of a reference: `$A$1`, `$A` or `$1`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    Cell { col: (bool, u32), row: (bool, u32) },
    Col(bool, u32),
    Row(bool, u32),
}

/// A reference in A1 syntax: a cell, or a range between two parts of the same kind.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ref {
    first: Part,
    last: Option<Part>,
}

/// Parses a part at `s[i..]`: returns it and where it ends.
fn parse_part(s: &[char], i: usize) -> Option<(Part, usize)> {
    let mut j = i;
    let col_abs = s.get(j) == Some(&'$');
    if col_abs {
        j += 1;
    }
    let letters_start = j;
    let mut col = 0u32;
    while j < s.len() && s[j].is_ascii_alphabetic() && j - letters_start < 4 {
        col = col * 26 + (s[j].to_ascii_uppercase() as u32 - 'A' as u32 + 1);
        j += 1;
    }
    let n_letters = j - letters_start;
    if n_letters > 3 || (n_letters > 0 && col > MAX_COL) {
        return None;
    }
    let row_abs = n_letters > 0 && s.get(j) == Some(&'$');
    if row_abs {
        j += 1;
    }
    let digits_start = j;
    let mut row = 0u64;
    while j < s.len() && s[j].is_ascii_digit() && j - digits_start < 8 {
        row = row * 10 + u64::from(s[j] as u32 - '0' as u32);
        j += 1;
    }
    let n_digits = j - digits_start;
    // what follows must end the reference
    if j < s.len() && (is_token_char(s[j]) || s[j] == '(' || s[j] == '!') {
        return None;
    }
    let row_ok = n_digits > 0 && (1..=u64::from(MAX_ROW)).contains(&row);
    let part = match (n_letters > 0, n_digits > 0) {
        (true, true) if row_ok => Part::Cell {
            col: (col_abs, col),
            row: (row_abs, row as u32),
        },
        (true, false) if !row_abs => Part::Col(col_abs, col),
        // `$3` (whole row) — a lone `$` before digits is the row's marker
        (false, true) if row_ok => Part::Row(col_abs, row as u32),
        _ => return None,
    };
    Some((part, j))
}

/// Parses a reference at `s[i..]`: a cell (`A1`), a range (`A1:B2`), whole rows (`3:5`) or
/// whole columns (`A:C`). A lone column or row is not a reference.
fn parse_ref(s: &[char], i: usize) -> Option<(Ref, usize)> {
    let (first, end) = parse_part(s, i)?;
    if s.get(end) == Some(&':')
        && let Some((last, end2)) = parse_part(s, end + 1)
        && matches!(
            (first, last),
            (Part::Cell { .. }, Part::Cell { .. })
                | (Part::Col(..), Part::Col(..))
                | (Part::Row(..), Part::Row(..))
        )
    {
        let r = Ref {
            first,
            last: Some(last),
        };
        return Some((r, end2));
    }
    match first {
        Part::Cell { .. } => Some((Ref { first, last: None }, end)),
        _ => None,
    }
}

fn col_letters(mut col: u32) -> String {
    let mut out = Vec::new();
    while col > 0 {
        let rem = (col - 1) % 26;
        out.push(char::from(b'A' + rem as u8));
        col = (col - 1) / 26;
    }
    out.iter().rev().collect()
}

fn dollar(abs: bool) -> &'static str {
    if abs { "$" } else { "" }
}

impl Part {
    fn row(&self) -> Option<u32> {
        match *self {
            Part::Cell { row, .. } => Some(row.1),
            Part::Row(_, r) => Some(r),
            Part::Col(..) => None,
        }
    }

    fn with_row(&self, new: u32) -> String {
        match *self {
            Part::Cell { col, row } => format!(
                "{}{}{}{}",
                dollar(col.0),
                col_letters(col.1),
                dollar(row.0),
                new
            ),
            Part::Row(abs, _) => format!("{}{new}", dollar(abs)),
            Part::Col(abs, c) => format!("{}{}", dollar(abs), col_letters(c)),
        }
    }
}

impl Ref {
    /// The reference as text after the deletion, `#REF!` when what it named is gone.
    fn shifted(&self, d: &DeletedRows) -> String {
        match (self.first.row(), self.last) {
            // whole columns: unchanged
            (None, Some(last)) => format!("{}:{}", self.first.with_row(0), last.with_row(0)),
            (None, None) => self.first.with_row(0),
            (Some(r), None) => {
                if d.is_deleted(r) {
                    REF_ERROR.to_string()
                } else {
                    self.first.with_row(r - d.above(r))
                }
            }
            (Some(r1), Some(last)) => {
                let r2 = last.row().unwrap_or(r1);
                match d.range(r1, r2) {
                    None => REF_ERROR.to_string(),
                    Some((lo, hi)) => {
                        // keep the order the range was written in
                        let (a, b) = if r1 <= r2 { (lo, hi) } else { (hi, lo) };
                        format!("{}:{}", self.first.with_row(a), last.with_row(b))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows 3 and 5 (1-based) deleted from sheet `IOC Tracking`.
    const DELETED: DeletedRows<'static> = DeletedRows {
        sheet: "IOC Tracking",
        rows: &[3, 5],
    };

    #[test]
    fn references_on_the_sheet_follow_their_rows() {
        let cases: &[(&str, &str)] = &[
            // simple cells: above, deleted, between, below
            ("LEN(E2)", "LEN(E2)"),
            ("LEN(E3)", "LEN(#REF!)"),
            ("E4*2", "E3*2"),
            ("E6+E7", "E4+E5"),
            ("e6", "E4"),
            // absolute markers kept and moved too
            ("$E$6", "$E$4"),
            ("E$6+$E6", "E$4+$E4"),
            ("$E$5", "#REF!"),
            // ranges: spanning, starting on, ending on, inside, below, above
            ("SUM(A2:B10)", "SUM(A2:B8)"),
            ("SUM(A3:A4)", "SUM(A3:A3)"),
            ("SUM(A4:A5)", "SUM(A3:A3)"),
            ("SUM(A3:A3)", "SUM(#REF!)"),
            ("SUM(A5:A5)+A3", "SUM(#REF!)+#REF!"),
            ("SUM($A$6:$B$9)", "SUM($A$4:$B$7)"),
            ("SUM(A1:A2)", "SUM(A1:A2)"),
            ("SUM(A10:A2)", "SUM(A8:A2)"),
            // whole rows like ranges, whole columns unchanged
            ("SUM(3:5)", "SUM(3:3)"),
            ("SUM(3:3)+SUM($5:$5)", "SUM(#REF!)+SUM(#REF!)"),
            ("SUM(2:6)", "SUM(2:4)"),
            ("SUM($6:$7)", "SUM($4:$5)"),
            ("SUM(A:A)+COUNT($B:$C)", "SUM(A:A)+COUNT($B:$C)"),
            // functions, names, numbers, strings and errors untouched
            ("LOG10(E6)", "LOG10(E4)"),
            ("ATAN2(E6,F7)", "ATAN2(E4,F5)"),
            ("LOG10(100)+ABC", "LOG10(100)+ABC"),
            ("Rate2024*E6", "Rate2024*E4"),
            (
                "IF(E6=\"E6\",\"see A5:A9\",1.5E6)",
                "IF(E4=\"E6\",\"see A5:A9\",1.5E6)",
            ),
            ("\"say \"\"E6\"\"\"&E6", "\"say \"\"E6\"\"\"&E4"),
            ("IFERROR(#REF!,#N/A)&E6", "IFERROR(#REF!,#N/A)&E4"),
            ("Table1[[#This Row],[E6]]", "Table1[[#This Row],[E6]]"),
            ("XFE6+E6", "XFE6+E4"),
            // A1 syntax only: R1C1 is a name there, R6 a cell of column R
            ("R1C1+R6", "R1C1+R4"),
            ("A1048577", "A1048577"),
            // a spill reference keeps its #
            ("SUM(E6#)", "SUM(E4#)"),
        ];
        for (before, after) in cases {
            assert_eq!(
                shift_for_deleted_rows(before, true, &DELETED),
                *after,
                "{before}"
            );
        }
    }

    #[test]
    fn qualified_references_are_shifted_from_any_sheet_others_are_not() {
        let cases: &[(&str, &str)] = &[
            // unqualified on another sheet: that sheet's cells
            ("E6", "E6"),
            ("'IOC Tracking'!E6", "'IOC Tracking'!E4"),
            ("'ioc tracking'!$E$6:$E$9", "'ioc tracking'!$E$4:$E$7"),
            ("'IOC Tracking'!E3", "#REF!"),
            ("SUM('IOC Tracking'!3:3)", "SUM(#REF!)"),
            ("Lists!E6+'IOC Tracking'!E6", "Lists!E6+'IOC Tracking'!E4"),
            ("'IOC Tracking (old)'!E6", "'IOC Tracking (old)'!E6"),
            ("'[1]IOC Tracking'!E6", "'[1]IOC Tracking'!E6"),
            ("[1]Lists!E6", "[1]Lists!E6"),
            ("\"'IOC Tracking'!E6\"", "\"'IOC Tracking'!E6\""),
            ("COUNTA('IOC Tracking'!E:E)", "COUNTA('IOC Tracking'!E:E)"),
        ];
        for (before, after) in cases {
            assert_eq!(
                shift_for_deleted_rows(before, false, &DELETED),
                *after,
                "{before}"
            );
        }
    }

    #[test]
    fn unquoted_and_apostrophe_sheet_names_match_ignoring_case() {
        let plain = DeletedRows {
            sheet: "Tracking",
            rows: &[2],
        };
        assert_eq!(
            shift_for_deleted_rows("tracking!B3", false, &plain),
            "tracking!B2"
        );
        assert_eq!(
            shift_for_deleted_rows("TRACKING!B2", false, &plain),
            "#REF!"
        );
        assert_eq!(
            shift_for_deleted_rows("Sheet1:Tracking!B3", false, &plain),
            "Sheet1:Tracking!B3"
        );
        // a sheet-scoped name is not a reference
        assert_eq!(
            shift_for_deleted_rows("Tracking!Total", false, &plain),
            "Tracking!Total"
        );
        let quoted = DeletedRows {
            sheet: "Analyst's IOCs",
            rows: &[2],
        };
        assert_eq!(
            shift_for_deleted_rows("'analyst''s iocs'!B3&B3", false, &quoted),
            "'analyst''s iocs'!B2&B3"
        );
        assert_eq!(
            shift_for_deleted_rows("'Analyst''s IOCs'!B3&B3", true, &quoted),
            "'Analyst''s IOCs'!B2&B2"
        );
    }

    #[test]
    fn nothing_deleted_changes_nothing() {
        let none = DeletedRows {
            sheet: "IOC Tracking",
            rows: &[],
        };
        assert_eq!(
            shift_for_deleted_rows("SUM(A3:A9)", true, &none),
            "SUM(A3:A9)"
        );
    }
}
