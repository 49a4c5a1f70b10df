//! Reading a `.csv` tracking file into the workbook model: one sheet named after the file stem.
//!
//! Every field is kept as the text written in the file: nothing is guessed into a number or a
//! date, so `000959` keeps its zeros and a 40-digit hash keeps every digit. An empty field is
//! `Empty`. The delimiter (`,` `;` or tab, as Excel writes in different locales) is sniffed
//! from the first lines; a UTF-8 BOM is dropped; a file that is not UTF-8 (Excel's "CSV
//! (Comma delimited)" in an ANSI code page) is decoded as Windows-1252. This module does not
//! find the header (see `header`).

use std::path::Path;

use super::{CellValue, Sheet, SheetLayout, WorkbookError};

/// Windows-1252 characters for bytes 0x80..=0x9F (the rest of the code page is Latin-1).
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
];

fn decode(bytes: Vec<u8>) -> String {
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("the CSV file is not UTF-8; reading it as Windows-1252");
            e.into_bytes()
                .into_iter()
                .map(|b| match b {
                    0x80..=0x9F => CP1252_HIGH[usize::from(b - 0x80)],
                    _ => char::from(b),
                })
                .collect()
        }
    }
}

/// The delimiter used most on the first lines, outside quotes.
fn sniff_delimiter(text: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut in_quotes = false;
    for c in text.bytes().take(8192) {
        match c {
            b'"' => in_quotes = !in_quotes,
            _ if in_quotes => {}
            _ => {
                if let Some(entry) = counts.iter_mut().find(|(d, _)| *d == c) {
                    entry.1 += 1;
                }
            }
        }
    }
    // Ties go to the comma (first in the list).
    counts
        .iter()
        .fold(
            (b',', 0),
            |best, &(d, n)| if n > best.1 { (d, n) } else { best },
        )
        .0
}

/// Read the whole CSV file as one sheet.
pub fn read_csv(path: &Path, bytes: Vec<u8>) -> Result<Sheet, WorkbookError> {
    let text = decode(bytes);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(&text))
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| WorkbookError::Corrupt {
            path: path.to_path_buf(),
            format: "CSV",
            detail: e.to_string(),
        })?;
        let mut row: Vec<CellValue> = record
            .iter()
            .map(|field| {
                if field.is_empty() {
                    CellValue::Empty
                } else {
                    CellValue::String(field.to_string())
                }
            })
            .collect();
        while row.last() == Some(&CellValue::Empty) {
            row.pop();
        }
        rows.push(row);
    }
    while rows.last().is_some_and(|r| r.is_empty()) {
        rows.pop();
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Sheet1".into());
    Ok(Sheet {
        name,
        rows,
        layout: SheetLayout::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> CellValue {
        CellValue::String(v.into())
    }

    #[test]
    fn keeps_text_exactly_and_blank_rows() {
        let data = "IOC,IOC Value\nMD5,000959\n,\nDomain,\"a,b.example.com\"\n".as_bytes();
        let sheet = read_csv(Path::new("x/iocs.csv"), data.to_vec()).unwrap();
        assert_eq!(sheet.name, "iocs");
        assert_eq!(
            sheet.rows,
            vec![
                vec![s("IOC"), s("IOC Value")],
                vec![s("MD5"), s("000959")],
                vec![],
                vec![s("Domain"), s("a,b.example.com")],
            ]
        );
    }

    #[test]
    fn semicolons_bom_and_cp1252() {
        let mut data = b"\xEF\xBB\xBFIOC;IOC Value;Note\nIP;198.51.100.7;1,5\n".to_vec();
        let sheet = read_csv(Path::new("a.csv"), data.clone()).unwrap();
        assert_eq!(sheet.rows[0], vec![s("IOC"), s("IOC Value"), s("Note")]);
        assert_eq!(sheet.rows[1], vec![s("IP"), s("198.51.100.7"), s("1,5")]);

        data = b"Name,Note\nRen\xe9,\x80 5\n".to_vec();
        let sheet = read_csv(Path::new("a.csv"), data).unwrap();
        assert_eq!(sheet.rows[1], vec![s("René"), s("€ 5")]);
    }

    #[test]
    fn tab_separated() {
        let sheet = read_csv(Path::new("t.csv"), b"a\tb\n1\t2\n".to_vec()).unwrap();
        assert_eq!(sheet.rows[1], vec![s("1"), s("2")]);
    }
}
