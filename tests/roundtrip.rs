//! Round trip of the workbook writer: a realistic workbook built with rust_xlsxwriter is loaded
//! into the model, saved with no changes, and read back with calamine — every sheet, cell
//! value and type must be equal. Plus the atomic replace with its backup, failures that leave
//! the original untouched, the `.xls/.ods/.csv → .xlsx beside it` rule, and the report workbook
//! read back cell by cell.
//!
//! The model is loaded by `load` below with the real reader (`workbook::read_workbook`) and read
//! back with calamine directly, so a reader bug and a writer bug cannot cancel out.

use std::collections::BTreeMap;
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use calamine::{Data, Reader};
use chrono::{Local, NaiveDate, NaiveDateTime, TimeZone};
use ioc_tracker::report::{Action, Counts, Disposition, KeyUsage, Report, RowResult};
use ioc_tracker::report_xlsx::{self, OriginalRows};
use ioc_tracker::rules::Verdict;
use ioc_tracker::workbook::write::{output_path, save};
use ioc_tracker::workbook::{
    CellValue, Columns, Sheet, SheetLayout, SourceFormat, Tracking, Workbook,
};
use rust_xlsxwriter::{Format, Formula};

fn dt(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, mi, s)
        .unwrap()
}

fn s(v: &str) -> CellValue {
    CellValue::String(v.to_string())
}

fn n(v: f64) -> CellValue {
    CellValue::Number(v)
}

/// calamine value → model value.
fn cell(d: &Data) -> CellValue {
    match d {
        Data::Empty => CellValue::Empty,
        Data::String(v) => CellValue::String(v.clone()),
        Data::Float(f) => CellValue::Number(*f),
        Data::Int(i) => CellValue::Number(*i as f64),
        Data::Bool(b) => CellValue::Bool(*b),
        Data::DateTime(x) => CellValue::DateTime(x.as_datetime().expect("a date")),
        Data::DateTimeIso(v) => CellValue::DateTime(
            NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S").expect("an ISO date"),
        ),
        Data::DurationIso(v) => CellValue::String(v.clone()),
        Data::Error(e) => CellValue::Error(e.to_string()),
    }
}

/// The whole file into the model, through the reader `run` uses.
fn load(path: &Path) -> Workbook {
    ioc_tracker::workbook::read_workbook(path).expect("the reader opens the file")
}

/// Rows without trailing blank cells and without trailing blank rows (what a file can hold).
fn trimmed(rows: &[Vec<CellValue>]) -> Vec<Vec<CellValue>> {
    let mut out: Vec<Vec<CellValue>> = rows
        .iter()
        .map(|r| {
            let w = r
                .iter()
                .rposition(|c| *c != CellValue::Empty)
                .map_or(0, |i| i + 1);
            r[..w].to_vec()
        })
        .collect();
    while out.last().is_some_and(Vec::is_empty) {
        out.pop();
    }
    out
}

/// Same sheets, names, visibility, merges, and every cell value with its type.
fn assert_same(a: &Workbook, b: &Workbook) {
    let names = |w: &Workbook| w.sheets.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(a), names(b));
    for (x, y) in a.sheets.iter().zip(&b.sheets) {
        assert_eq!(
            x.layout.hidden, y.layout.hidden,
            "sheet {} visibility",
            x.name
        );
        let mut mx = x.layout.merged.clone();
        let mut my = y.layout.merged.clone();
        mx.sort();
        my.sort();
        assert_eq!(mx, my, "sheet {} merges", x.name);
        let (rx, ry) = (trimmed(&x.rows), trimmed(&y.rows));
        assert_eq!(rx.len(), ry.len(), "sheet {} row count", x.name);
        for (i, (r1, r2)) in rx.iter().zip(&ry).enumerate() {
            assert_eq!(r1, r2, "sheet {} row {}", x.name, i + 1);
        }
    }
}

/// Date, analyst, malware, IOC, IOC Value, score, status, ticket, reviewed.
type SourceRow<'a> = (
    NaiveDateTime,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    f64,
    &'a str,
    &'a str,
    bool,
);

/// The analyst's workbook: notes sheet with a merged title and widths, the tracking sheet
/// (every kind of value, a blank row, extra columns, formulas), a hidden sheet, and one more.
fn source_workbook(path: &Path) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let datetime = Format::new().set_num_format("dd/mm/yyyy hh:mm:ss");

    let ws = wb.add_worksheet();
    ws.set_name("Read me").unwrap();
    ws.merge_range(0, 0, 0, 3, "IOC tracking — team notes", &Format::new())
        .unwrap();
    ws.write_string(2, 0, "Keep one IOC per row.").unwrap();
    ws.merge_range(3, 1, 5, 2, "merged block", &Format::new())
        .unwrap();
    ws.set_column_width(0, 30).unwrap();
    ws.set_column_width(3, 12.5).unwrap();

    let ws = wb.add_worksheet();
    ws.set_name("IOCs").unwrap();
    let header = [
        "Date",
        "Name of Analyst",
        "Malware Name",
        "IOC",
        "IOC Value",
        "Current Score",
        "Status",
        "Ticket",
        "Reviewed",
        "Double",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let rows: [SourceRow; 6] = [
        (
            dt(2024, 1, 15, 0, 0, 0),
            "Ana",
            "Emotet",
            "SHA256",
            &"a".repeat(64),
            7.0,
            "Active",
            "N/A",
            true,
        ),
        (
            dt(2024, 1, 16, 13, 30, 5),
            "Bo",
            "N/A",
            "Domain",
            "evil[.]example",
            0.0,
            "",
            "000959",
            false,
        ),
        (
            dt(2024, 2, 1, 0, 0, 0),
            "Cy",
            "Qakbot",
            "URL",
            "hxxp://x.example/=1+1",
            3.0,
            "Malicious",
            "=1+1",
            true,
        ),
        (
            dt(2024, 2, 2, 23, 59, 59),
            "Di",
            "",
            "IP",
            "192.0.2.10",
            12.5,
            "Active",
            "+1",
            false,
        ),
        (
            dt(2023, 12, 31, 0, 0, 0),
            "Ed",
            "x",
            "Hash",
            "d41d8cd98f00b204e9800998ecf8427e",
            1e-3,
            "Active",
            "-x",
            true,
        ),
        (
            dt(2024, 3, 3, 8, 0, 0),
            "Fi",
            "y",
            "IPv6",
            "2001:db8::1",
            1e15,
            "Active",
            "@x",
            false,
        ),
    ];
    // row 4 (index 3) stays blank
    let mut r = 1u32;
    for (d, a, m, k, v, score, st, ticket, rev) in rows {
        if r == 3 {
            r += 1;
        }
        if d.time() == chrono::NaiveTime::MIN {
            ws.write_datetime_with_format(r, 0, d, &date).unwrap();
        } else {
            ws.write_datetime_with_format(r, 0, d, &datetime).unwrap();
        }
        ws.write_string(r, 1, a).unwrap();
        if !m.is_empty() {
            ws.write_string(r, 2, m).unwrap();
        }
        ws.write_string(r, 3, k).unwrap();
        ws.write_string(r, 4, v).unwrap();
        ws.write_number(r, 5, score).unwrap();
        if !st.is_empty() {
            ws.write_string(r, 6, st).unwrap();
        }
        ws.write_string(r, 7, ticket).unwrap();
        ws.write_boolean(r, 8, rev).unwrap();
        ws.write_formula(
            r,
            9,
            Formula::new(format!("=F{}*2", r + 1)).set_result(format!("{}", score * 2.0)),
        )
        .unwrap();
        r += 1;
    }
    // an extra column far right on one row only, and an error value from a formula
    ws.write_string(2, 12, "note beyond the table").unwrap();
    ws.write_formula(5, 11, Formula::new("=NA()").set_result("#N/A"))
        .unwrap();

    let ws = wb.add_worksheet();
    ws.set_name("Lists (hidden)").unwrap();
    ws.write_string(0, 0, "Active").unwrap();
    ws.write_string(1, 0, "Malicious").unwrap();
    ws.write_number(2, 0, 42.0).unwrap();
    ws.set_hidden(true);

    let ws = wb.add_worksheet();
    ws.set_name("Stats 2024").unwrap();
    ws.write_string(1, 1, "text formula").unwrap();
    ws.write_formula(1, 2, Formula::new("=\"a\"&\"b\"").set_result("ab"))
        .unwrap();
    ws.write_formula(2, 2, Formula::new("=1=1").set_result("TRUE"))
        .unwrap();
    ws.write_formula(3, 2, Formula::new("=1/0").set_result("#DIV/0!"))
        .unwrap();
    ws.write_datetime_with_format(4, 2, dt(2025, 6, 30, 0, 0, 0), &date)
        .unwrap();
    ws.write_number(5, 2, -0.5).unwrap();
    ws.write_string(6, 2, "   ").unwrap();

    wb.save(path).unwrap();
}

fn tracking() -> Tracking {
    Tracking {
        sheet: 1,
        header_row: 0,
        columns: Columns {
            date: Some(0),
            analyst: Some(1),
            malware: Some(2),
            ioc_type: Some(3),
            ioc_value: 4,
            score: Some(5),
            status: Some(6),
            last_checked: None,
            notes: None,
        },
    }
}

/// The XML of the n-th worksheet (1-based) of an xlsx file.
fn sheet_xml(path: &Path, n: usize) -> String {
    let mut zip = zip::ZipArchive::new(fs::File::open(path).unwrap()).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name(&format!("xl/worksheets/sheet{n}.xml")).unwrap(),
        &mut xml,
    )
    .unwrap();
    xml
}

/// Every file in `dir`, by name.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn the_source_fixture_loads_with_every_kind_of_value() {
    // guards the fixture itself: the round trip below is only as good as what it holds
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ioc_tracking.xlsx");
    source_workbook(&src);
    let wb = load(&src);
    assert_eq!(wb.sheets.len(), 4);
    assert!(wb.sheets[2].layout.hidden);
    let ioc = &wb.sheets[1].rows;
    assert_eq!(ioc[1][0], CellValue::DateTime(dt(2024, 1, 15, 0, 0, 0)));
    assert_eq!(ioc[2][0], CellValue::DateTime(dt(2024, 1, 16, 13, 30, 5)));
    assert_eq!(ioc[1][7], s("N/A"));
    assert_eq!(ioc[2][7], s("000959"));
    assert_eq!(ioc[4][7], s("=1+1"));
    assert_eq!(ioc[1][8], CellValue::Bool(true));
    assert!(ioc[3].iter().all(|c| *c == CellValue::Empty));
    assert_eq!(
        ioc[1][9],
        CellValue::Formula {
            formula: "F2*2".into(),
            cached: Box::new(n(14.0))
        }
    );
    assert_eq!(
        ioc[5][11],
        CellValue::Formula {
            formula: "NA()".into(),
            cached: Box::new(CellValue::Error("#N/A".into()))
        }
    );
    assert_eq!(wb.sheets[0].layout.merged.len(), 2);
    assert_eq!(wb.sheets[3].rows[6][2], s("   "));
}

#[test]
fn saving_with_no_changes_keeps_every_sheet_value_and_type() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ioc_tracking.xlsx");
    source_workbook(&src);
    let model = load(&src);

    // plain: no tracking sheet styling
    let out = dir.path().join("plain.xlsx");
    let saved = save(&model, None, &out, true).unwrap();
    assert_eq!(saved.path, out);
    assert_eq!(saved.backup, None, "no previous file, so no backup");
    assert_same(&model, &load(&out));

    // with the tracking sheet's own look (bold header, filter, widths, date formats), and the
    // analyst's widths on the other sheets (calamine cannot read widths: set them here)
    let mut model = model;
    model.sheets[0].layout.column_widths = vec![(0, 30.0), (3, 12.5)];
    let out = dir.path().join("tracked.xlsx");
    save(&model, Some(&tracking()), &out, false).unwrap();
    let back = load(&out);
    assert_same(&model, &back);
    let readme = sheet_xml(&out, 1);
    assert!(
        readme.contains(r#"<col min="1" max="1" width="30.7109375" customWidth="1"/>"#),
        "{readme}"
    );
    assert!(
        readme.contains(r#"<col min="4" max="4" width="13.28515625" customWidth="1"/>"#),
        "{readme}"
    );
    let iocs = sheet_xml(&out, 2);
    assert!(iocs.contains(r#"<autoFilter ref="A1:J8"/>"#), "{iocs}");
    assert!(
        iocs.contains(
            r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
        ),
        "{iocs}"
    );
    // the IOC Value column (64-char hash) is fitted, but bounded
    assert!(
        iocs.contains(r#"<col min="5" max="5" width="60.7109375" customWidth="1"/>"#),
        "{iocs}"
    );
    // the header cells carry a style (bold), the data cells of column B do not
    assert!(
        iocs.contains(r#"<c r="A1" s=""#) && !iocs.contains(r#"<c r="B2" s=""#),
        "{iocs}"
    );

    // and again: a second generation is identical too
    let again = dir.path().join("again.xlsx");
    save(&back, Some(&tracking()), &again, false).unwrap();
    assert_same(&model, &load(&again));
}

#[test]
fn model_values_written_directly_read_back_with_their_types() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![
        vec![
            s("Text"),
            s("Number"),
            s("Date"),
            s("Bool"),
            s("Error"),
            s("Formula"),
        ],
        vec![
            s("=cmd|' /C calc'!A0"),
            n(45306.5625),
            CellValue::DateTime(dt(2024, 1, 15, 13, 30, 0)),
            CellValue::Bool(false),
            CellValue::Error("#DIV/0!".into()),
            CellValue::Formula {
                formula: "B2+1".into(),
                cached: Box::new(n(45307.5625)),
            },
        ],
        vec![
            s("+1"),
            n(-0.0001),
            CellValue::DateTime(dt(1999, 12, 31, 0, 0, 0)),
            CellValue::Bool(true),
            CellValue::Error("#N/A".into()),
            CellValue::Formula {
                formula: "A3&\"x\"".into(),
                cached: Box::new(s("+1x")),
            },
        ],
    ];
    let model = Workbook {
        path: dir.path().join("m.xlsx"),
        format: SourceFormat::Xlsx,
        sheets: vec![Sheet {
            name: "IOCs".into(),
            rows,
            layout: SheetLayout::default(),
        }],
    };
    let out = dir.path().join("m.xlsx");
    save(&model, None, &out, false).unwrap();
    assert_same(&model, &load(&out));
}

#[test]
fn saving_over_a_workbook_keeps_the_old_one_as_backup_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ioc_tracking.xlsx");
    source_workbook(&target);
    let old = fs::read(&target).unwrap();
    let mut model = load(&target);
    model.sheets[1].rows[1][6] = s("Malicious");

    let saved = save(&model, Some(&tracking()), &target, true).unwrap();
    let backup = dir.path().join("ioc_tracking.bak.xlsx");
    assert_eq!(saved.backup.as_deref(), Some(backup.as_path()));
    assert_eq!(
        fs::read(&backup).unwrap(),
        old,
        "the backup is the old file, byte for byte"
    );
    let now = load(&target);
    assert_eq!(now.sheets[1].rows[1][6], s("Malicious"));
    assert_same(&model, &now);
    assert_eq!(
        listing(dir.path()),
        ["ioc_tracking.bak.xlsx", "ioc_tracking.xlsx"]
    );

    // a second save replaces the backup with the first saved version
    let first = fs::read(&target).unwrap();
    model.sheets[1].rows[2][6] = s("Malicious");
    save(&model, Some(&tracking()), &target, true).unwrap();
    assert_eq!(fs::read(&backup).unwrap(), first);
    assert_eq!(
        listing(dir.path()),
        ["ioc_tracking.bak.xlsx", "ioc_tracking.xlsx"]
    );

    // without a backup, the backup file is left as it was
    model.sheets[1].rows[4][6] = s("Malicious");
    let saved = save(&model, Some(&tracking()), &target, false).unwrap();
    assert_eq!(saved.backup, None);
    assert_eq!(fs::read(&backup).unwrap(), first);
}

#[cfg(unix)]
#[test]
fn the_saved_file_keeps_the_old_files_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.xlsx");
    source_workbook(&target);
    fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
    save(&load(&target), None, &target, true).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&target), 0o640);
    assert_eq!(mode(&dir.path().join("t.bak.xlsx")), 0o640);
    let fresh = dir.path().join("new.xlsx");
    save(&load(&target), None, &fresh, true).unwrap();
    assert_eq!(
        mode(&fresh),
        0o644,
        "a new file is not private to the temp-file mode"
    );
}

#[test]
fn a_save_into_a_missing_folder_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ioc_tracking.xlsx");
    source_workbook(&src);
    let target = dir.path().join("no such folder").join("ioc_tracking.xlsx");
    let err = save(&load(&src), None, &target, true).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("no such folder"), "{msg}");
    assert!(msg.contains("writable"), "{msg}");
    assert_eq!(listing(dir.path()), ["ioc_tracking.xlsx"]);
}

#[test]
fn a_save_over_a_folder_fails_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.xlsx");
    source_workbook(&src);
    let target = dir.path().join("ioc_tracking.xlsx");
    fs::create_dir(&target).unwrap();
    let err = save(&load(&src), None, &target, true).unwrap_err();
    assert!(err.to_string().contains("ioc_tracking.xlsx"), "{err}");
    assert!(target.is_dir());
    assert_eq!(listing(dir.path()), ["ioc_tracking.xlsx", "src.xlsx"]);
}

#[test]
fn a_value_excel_cannot_hold_fails_naming_the_cell_and_leaves_the_original_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ioc_tracking.xlsx");
    source_workbook(&target);
    let old = fs::read(&target).unwrap();
    let mut model = load(&target);
    model.sheets[1].rows[2][7] = CellValue::String("x".repeat(40_000));
    let err = save(&model, Some(&tracking()), &target, true).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("'IOCs'") && msg.contains("H3"), "{msg}");
    assert_eq!(fs::read(&target).unwrap(), old);
    assert_eq!(listing(dir.path()), ["ioc_tracking.xlsx"]);
}

#[cfg(unix)]
#[test]
fn a_save_into_a_read_only_folder_fails_and_leaves_the_original_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ioc_tracking.xlsx");
    source_workbook(&target);
    let old = fs::read(&target).unwrap();
    let model = load(&target);
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
    // root ignores folder permissions: then there is nothing to refuse, and the save must
    // succeed instead (probed, so the test states which case it checked)
    let probe = dir.path().join("probe");
    let root = fs::write(&probe, b"x").is_ok();
    let _ = fs::remove_file(&probe);
    let result = save(&model, None, &target, true);
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    if root {
        eprintln!("running as root: read-only folder cannot be enforced; checked success instead");
        result.unwrap();
        assert_same(&model, &load(&target));
    } else {
        let msg = result.unwrap_err().to_string();
        assert!(msg.contains("writable"), "{msg}");
        assert_eq!(fs::read(&target).unwrap(), old);
        assert_eq!(listing(dir.path()), ["ioc_tracking.xlsx"]);
    }
}

#[test]
fn a_csv_ods_or_xls_input_is_written_as_xlsx_beside_it_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["iocs.csv", "iocs.ODS", "iocs.xls", "iocs.xlsm"] {
        let input = dir.path().join(name);
        fs::write(&input, b"original bytes").unwrap();
        let out = output_path(&input);
        assert_eq!(out, dir.path().join("iocs.xlsx"));
        let model = Workbook {
            path: input.clone(),
            format: SourceFormat::Csv,
            sheets: vec![Sheet {
                // a csv's sheet is named after its file, which may break Excel's rules
                name: "iocs [export]: 2024/01".into(),
                rows: vec![vec![s("IOC Value")], vec![s("000959")]],
                layout: SheetLayout::default(),
            }],
        };
        save(&model, None, &out, true).unwrap();
        assert_eq!(fs::read(&input).unwrap(), b"original bytes");
        let back = load(&out);
        assert_eq!(back.sheets[0].name, "iocs _export__ 2024_01");
        assert_eq!(back.sheets[0].rows[1][0], s("000959"));
        fs::remove_file(&input).unwrap();
    }
}

fn report_row(row: usize, value: &str, flagged: bool, action: Option<Action>) -> RowResult {
    let mut verdicts = BTreeMap::new();
    verdicts.insert(
        "FireEye".to_string(),
        Verdict::NotDetected {
            engine: "FireEye".into(),
            result: None,
        },
    );
    verdicts.insert(
        "McAfee".to_string(),
        Verdict::Detected {
            engine: "TrellixENS".into(),
            result: Some("Artemis!ABC".into()),
        },
    );
    RowResult {
        sheet: "IOCs".into(),
        row,
        date: "2024-01-15".into(),
        analyst: "Ana".into(),
        malware: "Emotet".into(),
        declared_kind: "Domain".into(),
        raw_value: value.into(),
        ioc: None,
        previous_score: Some(1.0),
        score: Some(if flagged { 9 } else { 1 }),
        lookup: None,
        verdicts,
        link: Some(format!("https://www.virustotal.com/gui/domain/{value}")),
        disposition: if flagged {
            Disposition::Flagged
        } else {
            Disposition::BelowThreshold
        },
        note: if flagged {
            "flagged (score 9 ≥ 5)".into()
        } else {
            "below threshold (score 1 < 5)".into()
        },
        action,
    }
}

#[test]
fn the_report_workbook_lists_exactly_the_flagged_iocs_and_the_summary() {
    let started = Local.with_ymd_and_hms(2026, 12, 4, 9, 0, 0).unwrap();
    let finished = Local.with_ymd_and_hms(2026, 12, 4, 9, 42, 30).unwrap();
    let mut r3 = report_row(3, "evil.example", true, Some(Action::Removed));
    r3.verdicts.insert("FireEye".into(), Verdict::NotPresent);
    let report = Report {
        started,
        finished,
        threshold: 5,
        edr_groups: vec!["FireEye".into(), "McAfee".into()],
        rows: vec![
            report_row(2, "ok.example", false, None),
            r3,
            report_row(5, "=bad.example", true, Some(Action::Marked)),
        ],
        counts: Counts {
            rows: 3,
            unique_iocs: 3,
            checked: 3,
            flagged: 2,
            below_threshold: 1,
            removed: 1,
            marked: 1,
            ..Counts::default()
        },
        keys: vec![
            KeyUsage {
                key: "key #1 (abcd…wxyz)".into(),
                requests: 4,
                state: "ok".into(),
            },
            KeyUsage {
                key: "key #2 (efgh…stuv)".into(),
                requests: 2,
                state: "out of quota".into(),
            },
        ],
        total_requests: 6,
    };
    // the tracking sheet the originals come from: header, rows 2..5 (1-based)
    let tracking_rows = vec![
        vec![s("Date"), s("IOC"), s("IOC Value"), s("Ticket")],
        vec![
            CellValue::DateTime(dt(2024, 1, 15, 0, 0, 0)),
            s("Domain"),
            s("ok.example"),
            s("T1"),
        ],
        vec![
            CellValue::DateTime(dt(2024, 1, 16, 0, 0, 0)),
            s("Domain"),
            s("evil.example"),
            s("000959"),
        ],
        vec![],
        vec![
            CellValue::DateTime(dt(2024, 1, 17, 10, 0, 0)),
            s("Domain"),
            s("=bad.example"),
            n(12.0),
            s("beyond the header"),
        ],
    ];
    let wb = Workbook {
        path: PathBuf::from("t.xlsx"),
        format: SourceFormat::Xlsx,
        sheets: vec![Sheet {
            name: "IOCs".into(),
            rows: tracking_rows,
            layout: SheetLayout::default(),
        }],
    };
    let t = Tracking {
        sheet: 0,
        header_row: 0,
        columns: Columns {
            ioc_value: 2,
            ..Columns::default()
        },
    };
    let original = OriginalRows::capture(&wb, &t, report.flagged().map(|r| r.row));
    assert_eq!(original.rows.len(), 2);
    let bytes = report_xlsx::build(&report, &original).unwrap();

    // written atomically to disk, the same bytes
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("malicious_iocs.xlsx");
    report_xlsx::write(&path, &bytes).unwrap();
    assert_eq!(fs::read(&path).unwrap(), bytes);
    assert_eq!(listing(dir.path()), ["malicious_iocs.xlsx"]);

    let mut book = calamine::Xlsx::new(Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["Malicious IOCs", "Summary"]);
    let range = book.worksheet_range("Malicious IOCs").unwrap();
    let rows: Vec<Vec<CellValue>> = range.rows().map(|r| r.iter().map(cell).collect()).collect();
    let link = |v: &str| s(&format!("https://www.virustotal.com/gui/domain/{v}"));
    assert_eq!(
        rows,
        vec![
            vec![
                s("Date"),
                s("IOC"),
                s("IOC Value"),
                s("Ticket"),
                CellValue::Empty,
                s("Score"),
                s("FireEye"),
                s("McAfee"),
                s("VirusTotal"),
                s("Reason"),
                s("Action"),
            ],
            vec![
                CellValue::DateTime(dt(2024, 1, 16, 0, 0, 0)),
                s("Domain"),
                s("evil.example"),
                s("000959"),
                CellValue::Empty,
                n(9.0),
                s("Not present"),
                s("Detected (TrellixENS: Artemis!ABC)"),
                link("evil.example"),
                s("flagged (score 9 ≥ 5)"),
                s("removed"),
            ],
            vec![
                CellValue::DateTime(dt(2024, 1, 17, 10, 0, 0)),
                s("Domain"),
                s("=bad.example"),
                n(12.0),
                s("beyond the header"),
                n(9.0),
                s("Not detected (FireEye)"),
                s("Detected (TrellixENS: Artemis!ABC)"),
                link("=bad.example"),
                s("flagged (score 9 ≥ 5)"),
                s("marked"),
            ],
        ]
    );

    let range = book.worksheet_range("Summary").unwrap();
    let summary: Vec<Vec<CellValue>> = range.rows().map(|r| r.iter().map(cell).collect()).collect();
    let find = |label: &str| {
        summary
            .iter()
            .find(|r| r.first() == Some(&s(label)))
            .unwrap_or_else(|| panic!("no {label} line"))[1]
            .clone()
    };
    assert_eq!(find("Started"), CellValue::DateTime(started.naive_local()));
    assert_eq!(
        find("Finished"),
        CellValue::DateTime(finished.naive_local())
    );
    assert_eq!(find("Threshold"), n(5.0));
    assert_eq!(find("Checked"), n(3.0));
    assert_eq!(find("Flagged"), n(2.0));
    assert_eq!(find("Removed from tracking"), n(1.0));
    assert_eq!(find("Marked Malicious"), n(1.0));
    assert_eq!(find("Not checked"), n(0.0));
    assert_eq!(find("Total requests"), n(6.0));
    let keys: Vec<_> = summary
        .iter()
        .skip_while(|r| r.first() != Some(&s("Key")))
        .cloned()
        .collect();
    assert_eq!(
        keys,
        vec![
            vec![s("Key"), s("Requests"), s("State")],
            vec![s("key #1 (abcd…wxyz)"), n(4.0), s("ok")],
            vec![s("key #2 (efgh…stuv)"), n(2.0), s("out of quota")],
        ]
    );
}

#[test]
fn a_run_s_edits_are_saved_and_nothing_else_changes() {
    use ioc_tracker::config::ColumnNames;
    use ioc_tracker::workbook::edit::{
        Removal, ensure_tool_columns, move_rows_to_removed, set_cell,
    };

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ioc_tracking.xlsx");
    source_workbook(&target);
    let original = load(&target);
    let mut wb = original.clone();
    let mut t = tracking();
    ensure_tool_columns(&mut wb, &mut t, &ColumnNames::default());
    let (lc, notes) = (t.columns.last_checked.unwrap(), t.columns.notes.unwrap());
    // the header is 10 wide, but rows use columns L and M: the new columns come after those
    assert_eq!((lc, notes), (13, 14));
    let checked = dt(2026, 12, 4, 0, 0, 0); // midnight: still shown with its time
    for row in [1usize, 2, 4, 5, 6, 7] {
        set_cell(&mut wb, 1, row, 5, n(row as f64));
        set_cell(&mut wb, 1, row, lc, CellValue::DateTime(checked));
        set_cell(&mut wb, 1, row, notes, s(&format!("note {row}")));
    }
    set_cell(&mut wb, 1, 2, 6, s("Malicious"));
    let edited = wb.clone();
    let removed_at = move_rows_to_removed(
        &mut wb,
        &t,
        &[Removal {
            index: 4,
            removed_on: dt(2026, 12, 4, 16, 30, 0),
            score: Some(9),
            reason: "flagged (score 9 ≥ 5)".into(),
        }],
    )
    .unwrap();
    assert_eq!(removed_at, 2);
    save(&wb, Some(&t), &target, true).unwrap();

    let back = load(&target);
    let names: Vec<_> = back.sheets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Read me",
            "IOCs",
            "Removed IOCs",
            "Lists (hidden)",
            "Stats 2024"
        ]
    );
    assert!(back.sheets[3].layout.hidden);
    // untouched sheets are equal to the original
    for (a, b) in [(0, 0), (3, 2), (4, 3)] {
        assert_eq!(
            trimmed(&back.sheets[a].rows),
            trimmed(&original.sheets[b].rows)
        );
    }
    // tracking: the edited rows, row 5 (index 4) gone, everything else as edited
    let mut expect = edited.sheets[1].rows.clone();
    let mut moved = expect.remove(4);
    // the formulas of the rows below follow them up, as when Excel deletes a row
    for (row, formula) in [(4, "F5*2"), (5, "F6*2"), (6, "F7*2")] {
        let CellValue::Formula { formula: f, .. } = &mut expect[row][9] else {
            panic!("row {row} has no formula in column J: {:?}", expect[row]);
        };
        *f = formula.to_string();
    }
    assert_eq!(trimmed(&back.sheets[1].rows), trimmed(&expect));
    assert_eq!(back.sheets[1].rows[1][lc], CellValue::DateTime(checked));
    // Removed IOCs: the header plus the three columns, then the moved row
    let rm = trimmed(&back.sheets[2].rows);
    assert_eq!(rm.len(), 2);
    let header = &edited.sheets[1].rows[0];
    assert_eq!(header.len(), 15);
    assert_eq!(rm[0][..15], header[..]);
    assert_eq!(
        rm[0][15..],
        [s("Removed On"), s("Score at Removal"), s("Removal Reason")]
    );
    assert_eq!(moved.len(), 15);
    // the moved row's formula (=F5*2, meaning the tracking sheet) is archived as its value
    let CellValue::Formula { cached, .. } = moved[9].clone() else {
        panic!("the moved row has no formula in column J: {moved:?}");
    };
    moved[9] = *cached;
    assert!(!matches!(moved[9], CellValue::Formula { .. }));
    assert_eq!(rm[1][..15], moved[..]);
    assert_eq!(rm[1][15], CellValue::DateTime(dt(2026, 12, 4, 16, 30, 0)));
    assert_eq!(rm[1][16], n(9.0));
    assert_eq!(rm[1][17], s("flagged (score 9 ≥ 5)"));
    // Last Checked shows its time even at midnight: its cells use the date-time format
    let mut zip = zip::ZipArchive::new(fs::File::open(&target).unwrap()).unwrap();
    let mut styles = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/styles.xml").unwrap(), &mut styles).unwrap();
    let id = |code: &str| {
        let at = styles
            .find(&format!(r#"formatCode="{code}""#))
            .unwrap_or_else(|| panic!("no {code} format: {styles}"));
        let start = styles[..at].rfind("numFmtId=\"").unwrap() + 10;
        styles[start..at].trim().trim_end_matches('"').to_string()
    };
    let datetime_fmt = id("yyyy-mm-dd hh:mm:ss");
    let iocs = sheet_xml(&target, 2);
    let pat = r#"<c r="N2" s=""#;
    let n2 = iocs.find(pat).expect("N2 has a style") + pat.len();
    let style: usize = iocs[n2..n2 + iocs[n2..].find('"').unwrap()]
        .parse()
        .unwrap();
    let xfs = &styles[styles.find("<cellXfs").unwrap()..];
    let xf = xfs.split("<xf ").nth(style + 1).unwrap();
    assert!(
        xf.contains(&format!(r#"numFmtId="{datetime_fmt}""#)),
        "{xf}"
    );
    // the backup is the analyst's file
    assert_same(&original, &load(&dir.path().join("ioc_tracking.bak.xlsx")));
}
