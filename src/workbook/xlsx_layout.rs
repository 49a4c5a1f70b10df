//! The presentation of an .xlsx/.xlsm workbook that the reader keeps besides the cells: column
//! widths (which calamine does not expose) from each worksheet's `<cols>`, and merged regions
//! from its `<mergeCells>`, read straight from the zip with quick-xml (the crates calamine
//! already uses) in one pass per sheet that does not parse the cells: `<cols>` comes before
//! `<sheetData>`, and after it the inflated XML is only searched for `mergeCells`. The reader
//! runs this beside calamine's cell pass, on another thread.
//!
//! Best effort: anything unexpected gives no layout for that sheet (logged at debug), never an
//! error, because this is presentation only. Nothing else is read here.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::Path;

use quick_xml::events::{BytesStart, Event};

type Zip = zip::ZipArchive<BufReader<File>>;

/// What one sheet's part says about its presentation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layout {
    /// (0-based column, width in characters)
    pub widths: Vec<(u16, f64)>,
    /// (first_row, first_col, last_row, last_col), 0-based inclusive
    pub merged: Vec<(u32, u16, u32, u16)>,
}

/// Sheet name → its layout, for every sheet that declares widths or merged regions.
pub fn layouts(path: &Path) -> HashMap<String, Layout> {
    match try_layouts(path) {
        Ok(layouts) => layouts,
        Err(e) => {
            tracing::debug!(
                "{}: column widths and merged cells not read: {e}",
                path.display()
            );
            HashMap::new()
        }
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn try_layouts(path: &Path) -> Result<HashMap<String, Layout>, Error> {
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
        let layout = sheet_layout(&mut zip, &part)?;
        if layout != Layout::default() {
            out.insert(name, layout);
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

/// The `<col min max width>` entries (before `<sheetData>`, parsed) and the `<mergeCell ref>`
/// entries (after it, found by a byte search, so the cells are never parsed) of one part.
fn sheet_layout(zip: &mut Zip, part: &str) -> Result<Layout, Error> {
    let mut xml = reader(zip, part)?;
    let mut buf = Vec::new();
    let mut layout = Layout::default();
    loop {
        match xml.read_event_into(&mut buf)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "col" => {
                let number = |name: &str| attr(&e, name).and_then(|v| v.parse::<f64>().ok());
                if let (Some(min), Some(max), Some(width)) =
                    (number("min"), number("max"), number("width"))
                {
                    // A span is expanded column by column, at most up to XFD.
                    let (min, max) = (min.max(1.0) as u32, max.min(16_384.0) as u32);
                    let width = characters(width);
                    for col in min..=max {
                        layout.widths.push(((col - 1) as u16, width));
                    }
                }
            }
            Event::Start(e) if e.local_name().as_ref() == "sheetData" => break,
            // An empty sheet may write `<sheetData/>`; its merged cells follow as usual.
            Event::Empty(e) if e.local_name().as_ref() == "sheetData" => break,
            Event::Eof => return Ok(layout),
            _ => {}
        }
        buf.clear();
    }
    layout.merged = merged_after_sheet_data(xml.into_inner())?;
    Ok(layout)
}

/// Search the rest of the part for `<mergeCells` and parse from there. Text in cells cannot
/// contain `<` unescaped, so the first `<mergeCells` (or `<prefix:mergeCells`) is the element.
fn merged_after_sheet_data<R: BufRead>(mut rest: R) -> Result<Vec<(u32, u16, u32, u16)>, Error> {
    const KEEP: usize = 64;
    let finder = memchr::memmem::Finder::new(b"mergeCells");
    let mut window: Vec<u8> = Vec::with_capacity(1 << 17);
    loop {
        let chunk = rest.fill_buf()?;
        if chunk.is_empty() {
            return Ok(Vec::new());
        }
        window.extend_from_slice(chunk);
        let n = chunk.len();
        rest.consume(n);
        let mut from = 0;
        while let Some(i) = finder.find(&window[from..]).map(|i| i + from) {
            // the element name starts after `<` or after `<prefix:`
            let start = window[..i].iter().rposition(|&b| b == b'<');
            let name_ok = start.is_some_and(|s| {
                window[s + 1..i]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b':')
            });
            if let (true, Some(start)) = (name_ok, start) {
                let mut tail = window[start..].to_vec();
                rest.read_to_end(&mut tail)?;
                return parse_merged(&tail);
            }
            from = i + 1;
        }
        if window.len() > KEEP {
            window.drain(..window.len() - KEEP);
        }
    }
}

fn parse_merged(xml: &[u8]) -> Result<Vec<(u32, u16, u32, u16)>, Error> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event_into(&mut buf)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "mergeCell" => {
                if let Some(region) = attr(&e, "ref").as_deref().and_then(parse_region) {
                    out.push(region);
                }
            }
            Event::End(e) if e.local_name().as_ref() == "mergeCells" => break,
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// `"B1:H1"` → (0, 1, 0, 7); `"C3"` → (2, 2, 2, 2).
fn parse_region(reference: &str) -> Option<(u32, u16, u32, u16)> {
    let (a, b) = reference.split_once(':').unwrap_or((reference, reference));
    let (r0, c0) = parse_cell(a)?;
    let (r1, c1) = parse_cell(b)?;
    Some((r0.min(r1), c0.min(c1), r0.max(r1), c0.max(c1)))
}

fn parse_cell(cell: &str) -> Option<(u32, u16)> {
    let cell = cell.trim().replace('$', "");
    let split = cell.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = cell.split_at(split);
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let col = letters.bytes().try_fold(0u32, |acc, b| {
        b.is_ascii_alphabetic()
            .then(|| acc * 26 + u32::from(b.to_ascii_uppercase() - b'A') + 1)
    })?;
    let row: u32 = digits.parse().ok()?;
    (row >= 1 && (1..=16_384).contains(&col)).then(|| (row - 1, (col - 1) as u16))
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
        let found = layouts(&path);
        let a = &found["A & B"].widths;
        assert_eq!(a.len(), 2, "{a:?}");
        assert_eq!(a[0].0, 0);
        assert_eq!(a[1].0, 3);
        // stored with Excel's padding (30 → 30.7109375), read back as characters
        assert_eq!(a[0].1, 30.0);
        assert!((a[1].1 - 12.5).abs() < 0.1, "{a:?}");
        assert!(!found.contains_key("Sheet2"));

        // A second round trip keeps the widths exactly.
        let again = dir.path().join("again.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet().set_name("A & B").unwrap();
        for &(col, width) in a {
            ws.set_column_width(col, width).unwrap();
        }
        wb.save(&again).unwrap();
        assert_eq!(&layouts(&again)["A & B"].widths, a);
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
        assert!(layouts(&path).is_empty());
    }

    #[test]
    fn merged_regions_after_many_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        let f = rust_xlsxwriter::Format::new();
        ws.merge_range(0, 1, 0, 7, "title", &f).unwrap();
        // enough cells that `mergeCells` lands far past the first read chunk
        for r in 1..20_000 {
            ws.write(r, 0, "a <mergeCells> lookalike in text").unwrap();
        }
        ws.merge_range(20_000, 0, 20_002, 2, "block", &f).unwrap();
        wb.save(&path).unwrap();
        let layout = &layouts(&path)["Sheet1"];
        assert_eq!(layout.merged, vec![(0, 1, 0, 7), (20_000, 0, 20_002, 2)]);
        assert!(layout.widths.is_empty());
    }

    #[test]
    fn cell_references() {
        assert_eq!(parse_region("B1:H1"), Some((0, 1, 0, 7)));
        assert_eq!(parse_region("$AA$10:$AB$12"), Some((9, 26, 11, 27)));
        assert_eq!(parse_region("C3"), Some((2, 2, 2, 2)));
        assert_eq!(
            parse_region("XFD1048576"),
            Some((1_048_575, 16_383, 1_048_575, 16_383))
        );
        assert_eq!(parse_region("A0"), None);
        assert_eq!(parse_region("1A"), None);
    }
}
