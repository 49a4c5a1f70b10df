//! Column widths of an .xlsx/.xlsm workbook, which calamine does not expose: read straight from
//! the `<cols>` element of each worksheet part (zip + quick-xml, the crates calamine already
//! uses). Best effort: anything unexpected gives no widths for that sheet (logged at debug),
//! never an error, because widths are presentation only. Nothing else is read here.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use quick_xml::events::{BytesStart, Event};

type Zip = zip::ZipArchive<BufReader<File>>;

/// Sheet name → (0-based column, width in characters), for every sheet that declares widths.
pub fn column_widths(path: &Path) -> HashMap<String, Vec<(u16, f64)>> {
    match try_column_widths(path) {
        Ok(widths) => widths,
        Err(e) => {
            tracing::debug!("{}: column widths not read: {e}", path.display());
            HashMap::new()
        }
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn try_column_widths(path: &Path) -> Result<HashMap<String, Vec<(u16, f64)>>, Error> {
    let mut zip = zip::ZipArchive::new(BufReader::new(File::open(path)?))?;
    let targets = relationship_targets(&mut zip)?;
    let sheets = workbook_sheets(&mut zip)?;
    let mut out = HashMap::new();
    for (name, rid) in sheets {
        let Some(target) = targets.get(&rid) else {
            continue;
        };
        let part = match target.strip_prefix('/') {
            Some(absolute) => absolute.to_string(),
            None => format!("xl/{target}"),
        };
        let widths = sheet_widths(&mut zip, &part)?;
        if !widths.is_empty() {
            out.insert(name, widths);
        }
    }
    Ok(out)
}

fn attr(e: &BytesStart<'_>, local: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let key = a.key.as_ref();
        let matches = key == local
            || (key.len() > local.len()
                && key.ends_with(local)
                && key.as_bytes()[key.len() - local.len() - 1] == b':');
        matches
            .then(|| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok())
            .flatten()
            .map(|v| v.into_owned())
    })
}

fn reader<'a, R: Read + Seek>(
    zip: &'a mut zip::ZipArchive<R>,
    part: &str,
) -> Result<quick_xml::Reader<BufReader<zip::read::ZipFile<'a, R>>>, Error> {
    Ok(quick_xml::Reader::from_reader(BufReader::new(
        zip.by_name(part)?,
    )))
}

/// `Id` → `Target` of `xl/_rels/workbook.xml.rels`.
fn relationship_targets(zip: &mut Zip) -> Result<HashMap<String, String>, Error> {
    let mut xml = reader(zip, "xl/_rels/workbook.xml.rels")?;
    let mut buf = Vec::new();
    let mut out = HashMap::new();
    loop {
        match xml.read_event_into(&mut buf)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "Relationship" => {
                if let (Some(id), Some(target)) = (attr(&e, "Id"), attr(&e, "Target")) {
                    out.insert(id, target);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// (sheet name, relationship id) from `xl/workbook.xml`, in order.
fn workbook_sheets(zip: &mut Zip) -> Result<Vec<(String, String)>, Error> {
    let mut xml = reader(zip, "xl/workbook.xml")?;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    loop {
        match xml.read_event_into(&mut buf)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "sheet" => {
                if let (Some(name), Some(rid)) = (attr(&e, "name"), attr(&e, "id")) {
                    out.push((name, rid));
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// The `<col min max width>` entries of one worksheet part (they come before `<sheetData>`,
/// so the cells are not parsed). A span is expanded column by column, at most up to XFD.
fn sheet_widths(zip: &mut Zip, part: &str) -> Result<Vec<(u16, f64)>, Error> {
    let mut xml = reader(zip, part)?;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    loop {
        match xml.read_event_into(&mut buf)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "col" => {
                let number = |name: &str| attr(&e, name).and_then(|v| v.parse::<f64>().ok());
                if let (Some(min), Some(max), Some(width)) =
                    (number("min"), number("max"), number("width"))
                {
                    let (min, max) = (min.max(1.0) as u32, max.min(16_384.0) as u32);
                    let width = characters(width);
                    for col in min..=max {
                        out.push(((col - 1) as u16, width));
                    }
                }
            }
            Event::Start(e) if e.local_name().as_ref() == "sheetData" => break,
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// The file stores a width that includes the cell padding (pixels / 7 for the default font:
/// 30 characters are stored as 30.7109375). Convert it back to the characters that Excel's
/// Column Width dialog shows and `rust_xlsxwriter::Worksheet::set_column_width` takes, so a
/// read-then-write round trip keeps the width instead of growing it by 0.71 each time.
fn characters(stored: f64) -> f64 {
    const MAX_DIGIT_WIDTH: f64 = 7.0;
    const PADDING: f64 = 5.0;
    let pixels = (stored * MAX_DIGIT_WIDTH).round();
    if pixels >= MAX_DIGIT_WIDTH + PADDING {
        (pixels - PADDING) / MAX_DIGIT_WIDTH
    } else {
        pixels / (MAX_DIGIT_WIDTH + PADDING)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_widths_written_by_rust_xlsxwriter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let a = wb.add_worksheet().set_name("A & B").unwrap();
        a.write(0, 0, "x").unwrap();
        a.set_column_width(0, 30).unwrap();
        a.set_column_width(3, 12.5).unwrap();
        let b = wb.add_worksheet();
        b.write(0, 0, "y").unwrap();
        wb.save(&path).unwrap();
        let widths = column_widths(&path);
        let a = &widths["A & B"];
        assert_eq!(a.len(), 2, "{a:?}");
        assert_eq!(a[0].0, 0);
        assert_eq!(a[1].0, 3);
        // stored with Excel's padding (30 → 30.7109375), read back as characters
        assert_eq!(a[0].1, 30.0);
        assert!((a[1].1 - 12.5).abs() < 0.1, "{a:?}");
        assert!(!widths.contains_key("Sheet2"));

        // A second round trip keeps the widths exactly.
        let again = dir.path().join("again.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet().set_name("A & B").unwrap();
        for &(col, width) in a {
            ws.set_column_width(col, width).unwrap();
        }
        wb.save(&again).unwrap();
        assert_eq!(&column_widths(&again)["A & B"], a);
    }

    #[test]
    fn stored_widths_to_characters() {
        assert_eq!(characters(30.7109375), 30.0);
        assert!((characters(9.140625) - 8.43).abs() < 0.01);
        assert_eq!(characters(0.0), 0.0);
        // 0.5 characters are 6 pixels, stored as 6/7
        assert_eq!(characters(0.85546875), 0.5);
    }

    #[test]
    fn not_a_zip_gives_no_widths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.xlsx");
        std::fs::write(&path, b"nope").unwrap();
        assert!(column_widths(&path).is_empty());
    }
}
