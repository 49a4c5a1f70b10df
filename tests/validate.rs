//! `ioc-tracker validate` on fixture workbooks, through the real binary: every good fixture's
//! rows, kinds, values, problems and counts checked exactly; every bad file gives a one-line
//! error, exit 2, nothing on stdout, and the file left byte-for-byte and mtime untouched.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

use common::*;

/// A command isolated from the machine's config and environment.
fn cmd(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("ioc-tracker").unwrap();
    c.current_dir(dir)
        .env_remove("IOC_TRACKER_CONFIG")
        .env_remove("IOC_TRACKER_VT_KEYS")
        .env_remove("IOC_TRACKER_LOG")
        .env_remove("IOC_TRACKER_WORKBOOK")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env("NO_COLOR", "1");
    c
}

fn build(dir: &TempDir, name: &str, make: fn(&Path)) -> PathBuf {
    let path = dir.path().join(name);
    make(&path);
    path
}

/// Run `validate --json` and return the document, asserting exit 0.
fn validate_json(dir: &Path, workbook: &Path) -> Value {
    let out = cmd(dir)
        .args(["validate", "--json", "--workbook"])
        .arg(workbook)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One row as a line: `row kind value` or `row - value: problem`, `(dup of N)` for duplicates.
fn lines(doc: &Value) -> Vec<String> {
    doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let row = r["row"].as_u64().unwrap();
            let value = r["value"].as_str().unwrap();
            match (r["kind"].as_str(), r["problem"].as_str()) {
                (Some(kind), None) => match r.get("duplicate_of").and_then(Value::as_u64) {
                    Some(first) => format!("{row} {kind} {value} (dup of {first})"),
                    None => format!("{row} {kind} {value}"),
                },
                (None, Some(problem)) => format!("{row} - {value}: {problem}"),
                other => panic!("row {row}: kind and problem {other:?}"),
            }
        })
        .collect()
}

fn counts(doc: &Value) -> String {
    let c = &doc["counts"];
    let k = &c["by_kind"];
    format!(
        "rows {} valid {} invalid {} duplicates {} unique {} blank {} | md5 {} sha1 {} sha256 {} domain {} ip {} url {}",
        c["rows"],
        c["valid"],
        c["invalid"],
        c["duplicates"],
        c["unique"],
        c["blank_rows_skipped"],
        k["md5"],
        k["sha1"],
        k["sha256"],
        k["domain"],
        k["ip"],
        k["url"]
    )
}

fn sheets(doc: &Value) -> Vec<String> {
    let mut names: Vec<String> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sheet"].as_str().unwrap().to_string())
        .collect();
    names.dedup();
    names
}

/// Run `validate` on a file that cannot be processed: exit 2, nothing on stdout, one line on
/// stderr (returned), the file untouched.
fn validate_fails(dir: &Path, workbook: &Path, extra: &[&str]) -> String {
    let before = std::fs::read(workbook).ok();
    let mtime = std::fs::metadata(workbook).and_then(|m| m.modified()).ok();
    let out = cmd(dir)
        .arg("validate")
        .args(extra)
        .arg("--workbook")
        .arg(workbook)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(std::fs::read(workbook).ok(), before, "file changed");
    assert_eq!(
        std::fs::metadata(workbook).and_then(|m| m.modified()).ok(),
        mtime,
        "mtime changed"
    );
    // nothing new beside it (no backup, no converted copy)
    let siblings = std::fs::read_dir(workbook.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path() != workbook && !e.file_name().to_string_lossy().starts_with('~'))
        .filter(|e| !e.file_name().to_string_lossy().starts_with(".~lock"))
        .filter(|e| e.file_name() != ".config")
        .count();
    assert_eq!(siblings, 0, "files appeared beside {}", workbook.display());
    stderr.trim_end().to_string()
}

#[test]
fn realistic_workbook() {
    let dir = TempDir::new().unwrap();
    let path = build(&dir, "ioc_tracking.xlsx", realistic);
    let doc = validate_json(dir.path(), &path);
    assert_eq!(sheets(&doc), ["IOC Tracking"]);
    assert_eq!(
        lines(&doc),
        [
            format!("2 sha256 {SHA256_1}"),
            format!("3 md5 {MD5_2}"),
            "4 domain evil.example.com".into(),
            "6 url https://payload.example.net/a?b=1".into(),
            "7 ip 203.0.113.7".into(),
            "8 - 999.1.1.1: 999.1.1.1 is not a valid IPv4 address (octet 999 > 255)".into(),
            format!("9 sha256 {SHA256_1} (dup of 2)"),
            "10 - 000959: wrong length for an MD5: 6 hex characters (expected 32)".into(),
            format!(
                "11 - 12345678901234567000000000000000: {}",
                ioc_tracker::workbook::precision_lost_reason()
            ),
            "12 - not a domain: contains a space inside the value".into(),
            "13 ip 198.51.100.9".into(),
            "14 domain evil.example.com (dup of 4)".into(),
        ]
    );
    assert_eq!(
        counts(&doc),
        "rows 12 valid 8 invalid 4 duplicates 2 unique 6 blank 1 | md5 1 sha1 0 sha256 2 domain 2 ip 2 url 1"
    );
}

#[test]
fn bundled_sample() {
    let dir = TempDir::new().unwrap();
    let doc = validate_json(dir.path(), &fixtures().join("sample_ioc_tracking.xlsx"));
    assert_eq!(sheets(&doc), ["IOC Tracking"]);
    assert_eq!(
        lines(&doc),
        [
            format!("2 sha256 {SHA256_1}"),
            "3 domain evil-loader.example.com".into(),
            format!("4 md5 {MD5_2}"),
            "5 ip 203.0.113.45".into(),
            "6 url https://payload.example.net/dl/invoice.zip".into(),
            format!("7 sha1 {SHA1_3}"),
            "8 ip 2001:db8::dead:beef".into(),
            "9 domain cdn-update.example.org".into(),
            format!("10 sha256 {SHA256_4}"),
            "11 ip 198.51.100.23".into(),
            "12 url http://login-portal.example.test/verify.php".into(),
            format!("13 md5 {MD5_5}"),
            format!("14 sha256 {SHA256_1} (dup of 2)"),
            "15 - 999.1.1.1: 999.1.1.1 is not a valid IPv4 address (octet 999 > 255)".into(),
            "16 domain mail.example.net".into(),
        ]
    );
    assert_eq!(
        counts(&doc),
        "rows 15 valid 14 invalid 1 duplicates 1 unique 13 blank 0 | md5 2 sha1 1 sha256 3 domain 3 ip 3 url 2"
    );
}

/// The committed sample is what `common::sample` builds (regenerate it if this fails).
#[test]
fn bundled_sample_matches_its_generator() {
    let dir = TempDir::new().unwrap();
    let fresh = build(&dir, "sample.xlsx", sample);
    let settings = ioc_tracker::config::Settings::defaults().workbook;
    let (a, ta) = ioc_tracker::workbook::read(&fresh, &settings).unwrap();
    let (b, tb) =
        ioc_tracker::workbook::read(&fixtures().join("sample_ioc_tracking.xlsx"), &settings)
            .unwrap();
    assert_eq!(a.sheets, b.sheets);
    assert_eq!(ta, tb);
    assert_eq!(
        b.sheets[0].layout.column_widths,
        [
            (0, 12.0),
            (1, 16.0),
            (2, 14.0),
            (3, 12.0),
            (4, 68.0),
            (5, 13.0),
            (6, 12.0),
            (7, 10.0)
        ]
    );
    assert!(b.sheets[1].layout.column_widths.is_empty());
}

#[test]
#[ignore = "writes fixtures/sample_ioc_tracking.xlsx; run by hand after changing common::sample"]
fn regenerate_sample_fixture() {
    sample(&fixtures().join("sample_ioc_tracking.xlsx"));
}

#[test]
fn reordered_columns() {
    let dir = TempDir::new().unwrap();
    let path = build(&dir, "reordered.xlsx", reordered);
    let doc = validate_json(dir.path(), &path);
    assert_eq!(
        lines(&doc),
        [
            format!("2 sha1 {SHA1_7}"),
            "3 url http://203.0.113.5/x".into(),
            "4 domain example.org".into(),
        ]
    );
    assert_eq!(
        counts(&doc),
        "rows 3 valid 3 invalid 0 duplicates 0 unique 3 blank 0 | md5 0 sha1 1 sha256 0 domain 1 ip 0 url 1"
    );
}

#[test]
fn header_on_row_3_under_a_title() {
    let dir = TempDir::new().unwrap();
    let path = build(&dir, "titled.xlsx", title_above);
    let doc = validate_json(dir.path(), &path);
    assert_eq!(sheets(&doc), ["Q1 IOCs"]);
    assert_eq!(
        lines(&doc),
        [
            format!("4 md5 {MD5_5}"),
            "5 ip 198.51.100.77".into(),
            "6 ip 2001:db8::1".into(),
        ]
    );
    assert_eq!(
        counts(&doc),
        "rows 3 valid 3 invalid 0 duplicates 0 unique 3 blank 0 | md5 1 sha1 0 sha256 0 domain 0 ip 2 url 0"
    );
}

#[test]
fn extension_in_any_case_and_xlsm() {
    let dir = TempDir::new().unwrap();
    for name in ["REORDERED.XLSX", "Reordered.Xlsm"] {
        let path = build(&dir, name, reordered);
        let doc = validate_json(dir.path(), &path);
        assert_eq!(doc["counts"]["rows"], 3, "{name}");
        assert_eq!(doc["counts"]["by_kind"]["sha1"], 1, "{name}");
    }
}

#[test]
fn json_shape() {
    let dir = TempDir::new().unwrap();
    let path = build(&dir, "ioc_tracking.xlsx", realistic);
    let doc = validate_json(dir.path(), &path);
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k.join(",")
    };
    assert_eq!(keys(&doc), "counts,plan,rows");
    assert_eq!(doc["plan"]["unique_iocs"], 6);
    assert_eq!(doc["plan"]["to_look_up"], 6);
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(keys(&rows[0]), "kind,problem,row,sheet,value");
    assert_eq!(rows[0]["problem"], Value::Null);
    assert_eq!(rows[5]["kind"], Value::Null);
    assert_eq!(keys(&rows[6]), "duplicate_of,kind,problem,row,sheet,value");
    assert_eq!(
        keys(&doc["counts"]),
        "blank_rows_skipped,by_kind,duplicates,invalid,rows,unique,valid"
    );
    assert_eq!(
        keys(&doc["counts"]["by_kind"]),
        "domain,ip,md5,sha1,sha256,url"
    );
}

/// Expected rows of tracking.ods and tracking.xls (see fixtures/make_foreign.py).
fn foreign_lines() -> Vec<String> {
    vec![
        format!("2 sha256 {SHA256_4}"),
        "3 domain bad.example.org".into(),
        "5 - 198.51.100.300: 198.51.100.300 is not a valid IPv4 address (octet 300 > 255)".into(),
        "6 url http://203.0.113.5/x".into(),
        "7 domain bad.example.org (dup of 3)".into(),
    ]
}

const FOREIGN_COUNTS: &str = "rows 5 valid 4 invalid 1 duplicates 1 unique 3 blank 1 | md5 0 sha1 0 sha256 1 domain 2 ip 0 url 1";

#[test]
fn ods_workbook() {
    let dir = TempDir::new().unwrap();
    let doc = validate_json(dir.path(), &fixtures().join("tracking.ods"));
    assert_eq!(sheets(&doc), ["IOCs"]);
    assert_eq!(lines(&doc), foreign_lines());
    assert_eq!(counts(&doc), FOREIGN_COUNTS);
}

#[test]
fn xls_workbook() {
    let dir = TempDir::new().unwrap();
    let doc = validate_json(dir.path(), &fixtures().join("tracking.xls"));
    assert_eq!(sheets(&doc), ["IOCs"]);
    assert_eq!(lines(&doc), foreign_lines());
    assert_eq!(counts(&doc), FOREIGN_COUNTS);
}

#[test]
fn csv_file() {
    let dir = TempDir::new().unwrap();
    let doc = validate_json(dir.path(), &fixtures().join("tracking.csv"));
    assert_eq!(sheets(&doc), ["tracking"]);
    assert_eq!(
        lines(&doc),
        [
            format!("2 sha256 {SHA256_6}"),
            "3 domain phish.example.com".into(),
            "5 - 000959: wrong length for an MD5: 6 hex characters (expected 32)".into(),
            "6 url https://203.0.113.9:8443/gate.php?id=1,2".into(),
            "7 - 198.51.100.023: 198.51.100.023 is not a valid IPv4 address (octet 023 has a leading zero)".into(),
        ]
    );
    assert_eq!(
        counts(&doc),
        "rows 5 valid 3 invalid 2 duplicates 0 unique 3 blank 1 | md5 0 sha1 0 sha256 1 domain 1 ip 0 url 1"
    );
}

#[test]
fn human_table_on_stdout_and_summary_on_stderr() {
    let dir = TempDir::new().unwrap();
    let path = build(&dir, "ioc_tracking.xlsx", realistic);
    // default path: ./ioc_tracking.xlsx in the working folder
    let out = cmd(dir.path()).arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let table: Vec<&str> = stdout.lines().collect();
    assert_eq!(table.len(), 13, "{stdout}");
    assert_eq!(table[0], "ROW  KIND    VALUE / PROBLEM");
    assert_eq!(table[1], format!("  2  sha256  {SHA256_1}"));
    assert!(
        table[6].starts_with("  8  -       invalid: "),
        "{}",
        table[6]
    );
    assert!(table[6].ends_with("(cell: \"999.1.1.1\")"), "{}", table[6]);
    assert_eq!(
        table[12],
        " 14  domain  evil.example.com (duplicate of row 4)"
    );
    let mut lines = stderr.lines();
    assert_eq!(
        lines.next().unwrap(),
        "ioc_tracking.xlsx, sheet \"IOC Tracking\" (header on row 1): 12 rows, 8 valid (6 to look \
         up, 2 duplicates), 4 invalid, 1 blank row skipped; md5 1, sha256 2, domain 2, ip 2, url 1"
    );
    // then the quota plan a run would make (issue 6)
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("plan: 6 unique IOCs; 6 to look up"),
        "{stderr}"
    );
    assert!(path.exists());
}

// ---- settings: [workbook] sheet, [workbook.columns], path from the file or environment ----

#[test]
fn configured_sheet_and_column_names() {
    let dir = TempDir::new().unwrap();
    let path = build(&dir, "noval.xlsx", missing_ioc_value);
    std::fs::write(
        dir.path().join("ioc-tracker.toml"),
        "[workbook]\npath = \"noval.xlsx\"\nsheet = \"ioc tracking\"\n\n[workbook.columns]\nioc_value = \"indicator\"\n",
    )
    .unwrap();
    let out = cmd(dir.path())
        .args(["validate", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(lines(&doc), ["2 domain example.com"]);
    assert!(path.exists());
}

#[test]
fn configured_sheet_missing() {
    let dir = TempDir::new().unwrap();
    let path = build(&dir, "ioc_tracking.xlsx", realistic);
    let elsewhere = TempDir::new().unwrap();
    let config = elsewhere.path().join("settings.toml");
    std::fs::write(&config, "[workbook]\nsheet = \"IOCs\"\n").unwrap();
    let e = validate_fails(dir.path(), &path, &["-c", config.to_str().unwrap()]);
    assert_eq!(
        e,
        format!(
            "error: sheet \"IOCs\" not found in {} (sheets: Read me, IOC Tracking, Lookups): fix \
             [workbook] sheet in the config",
            path.display()
        )
    );
}

#[test]
fn workbook_from_the_environment() {
    let dir = TempDir::new().unwrap();
    let path = build(&dir, "elsewhere.xlsx", reordered);
    let out = cmd(dir.path())
        .env("IOC_TRACKER_WORKBOOK", &path)
        .args(["validate", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["counts"]["rows"], 3);
}

// ---- files that cannot be processed ----

#[test]
fn missing_file() {
    let dir = TempDir::new().unwrap();
    let e = validate_fails(dir.path(), &dir.path().join("nope.xlsx"), &[]);
    assert!(e.contains("nope.xlsx not found"), "{e}");
}

#[test]
fn random_bytes_named_xlsx() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("junk.xlsx");
    std::fs::write(&path, random_bytes()).unwrap();
    let e = validate_fails(dir.path(), &path, &[]);
    assert!(
        e.contains("junk.xlsx is not a readable Excel (.xlsx) file (")
            && e.contains("save it again as .xlsx"),
        "{e}"
    );
}

#[test]
fn truncated_and_empty_xlsx() {
    let dir = TempDir::new().unwrap();
    let full = dir.path().join("full.bin");
    realistic(&full);
    let bytes = std::fs::read(&full).unwrap();
    std::fs::remove_file(&full).unwrap();
    let path = dir.path().join("cut.xlsx");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = validate_fails(dir.path(), &path, &[]);
    assert!(
        e.contains("cut.xlsx is not a readable Excel (.xlsx) file ("),
        "{e}"
    );
    std::fs::remove_file(&path).unwrap();
    let path = dir.path().join("empty.xlsx");
    std::fs::write(&path, b"").unwrap();
    let e = validate_fails(dir.path(), &path, &[]);
    assert!(e.contains("; the file is empty)"), "{e}");
}

#[test]
fn renamed_files_say_what_they_are() {
    let dir = TempDir::new().unwrap();
    let path = build(&dir, "really_xlsx.xls", reordered);
    let e = validate_fails(dir.path(), &path, &[]);
    assert!(
        e.contains("really_xlsx.xls is not a readable Excel 97-2003 (.xls) file (")
            && e.contains("its content is an .xlsx or .ods file: rename it)"),
        "{e}"
    );
    std::fs::remove_file(&path).unwrap();
    let path = dir.path().join("really_xls.xlsx");
    std::fs::copy(fixtures().join("tracking.xls"), &path).unwrap();
    let e = validate_fails(dir.path(), &path, &[]);
    assert!(
        e.contains("its content is an Excel 97-2003 file: rename it to .xls)"),
        "{e}"
    );
    std::fs::remove_file(&path).unwrap();
    let path = dir.path().join("export.xls");
    std::fs::write(
        &path,
        "<html><body><table><tr><td>IOC Value</td></tr></table></body></html>",
    )
    .unwrap();
    let e = validate_fails(dir.path(), &path, &[]);
    assert!(
        e.contains("its content is a web page (an HTML export), not a workbook)"),
        "{e}"
    );
}

#[test]
fn text_file() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::copy(fixtures().join("not_a_workbook.txt"), &path).unwrap();
    let e = validate_fails(dir.path(), &path, &[]);
    assert!(
        e.ends_with(
            "notes.txt is not a spreadsheet ioc-tracker reads (extension \".txt\"): use a .xlsx, \
             .xlsm, .xls, .ods or .csv file (Excel: File > Save As > Excel Workbook)"
        ),
        "{e}"
    );
}

#[test]
fn password_protected() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("locked.xlsx");
    std::fs::copy(fixtures().join("password_protected.xlsx"), &path).unwrap();
    let e = validate_fails(dir.path(), &path, &[]);
    assert!(
        e.contains("locked.xlsx is password-protected: remove the password"),
        "{e}"
    );
}

#[test]
fn no_header_row() {
    let dir = TempDir::new().unwrap();
    let path = build(&dir, "plain.xlsx", no_header);
    let e = validate_fails(dir.path(), &path, &[]);
    assert!(
        e.ends_with(
            "plain.xlsx: looked for Date, Name of Analyst, Malware Name, IOC, IOC Value, Current \
             Score, Status in the first 20 rows of sheet(s) \"Summary\", \"Contacts\"; rename the \
             headers or set [workbook.columns] in the config"
        ),
        "{e}"
    );
}

#[test]
fn header_without_rows() {
    let dir = TempDir::new().unwrap();
    let path = build(&dir, "empty.xlsx", header_no_rows);
    let e = validate_fails(dir.path(), &path, &[]);
    assert!(
        e.ends_with(
            "empty.xlsx, sheet \"IOC Tracking\": header on row 1 but no IOC rows below it: add rows \
             to track and run again"
        ),
        "{e}"
    );
}

#[test]
fn missing_ioc_value_column() {
    let dir = TempDir::new().unwrap();
    let path = build(&dir, "noval.xlsx", missing_ioc_value);
    let e = validate_fails(dir.path(), &path, &[]);
    assert!(
        e.ends_with(
            "noval.xlsx, sheet \"IOC Tracking\": the header on row 1 has no \"IOC Value\" column \
             (headers found: Date, Name of Analyst, Malware Name, IOC, Indicator, Current Score, \
             Status): add or rename the column, or set [workbook.columns] ioc_value"
        ),
        "{e}"
    );
}

#[test]
fn open_in_excel() {
    let dir = TempDir::new().unwrap();
    let path = build(&dir, "ioc_tracking.xlsx", realistic);
    std::fs::write(dir.path().join("~$ioc_tracking.xlsx"), b"lock").unwrap();
    let e = validate_fails(dir.path(), &path, &[]);
    assert!(
        e.contains("ioc_tracking.xlsx is open in Excel (lock file ")
            && e.contains("~$ioc_tracking.xlsx): close it and run again"),
        "{e}"
    );
}

#[test]
fn json_flag_does_not_change_errors() {
    let dir = TempDir::new().unwrap();
    let path = build(&dir, "empty.xlsx", header_no_rows);
    let e = validate_fails(dir.path(), &path, &["--json"]);
    assert!(e.contains("no IOC rows"), "{e}");
}

// ---- the model read from the foreign formats (library level) ----

fn read_fixture(
    name: &str,
) -> (
    ioc_tracker::workbook::Workbook,
    ioc_tracker::workbook::Tracking,
) {
    let settings = ioc_tracker::config::Settings::defaults().workbook;
    ioc_tracker::workbook::read(&fixtures().join(name), &settings).unwrap()
}

#[test]
fn ods_and_xls_keep_dates_formulas_blank_rows_and_sheets() {
    use ioc_tracker::workbook::CellValue::{self, *};
    for (name, cached) in [
        ("tracking.ods", Number(6.0)),
        // xlwt stores no cached value for a formula
        ("tracking.xls", String("".into())),
    ] {
        let (wb, t) = read_fixture(name);
        assert_eq!(t.sheet, 1, "{name}");
        assert_eq!(t.header_row, 0, "{name}");
        let ioc = &wb.sheets[1];
        assert_eq!(ioc.name, "IOCs");
        assert_eq!(ioc.rows.len(), 7, "{name}");
        assert_eq!(
            ioc.rows[1][0],
            DateTime(datetime(2024, 1, 15, 13, 30)),
            "{name}"
        );
        assert_eq!(ioc.rows[2][0], DateTime(date(2024, 1, 16)), "{name}");
        assert_eq!(
            ioc.rows[2][5],
            Formula {
                formula: "F2/2".into(),
                cached: Box::new(cached)
            },
            "{name}"
        );
        assert!(ioc.rows[3].is_empty(), "{name}");
        assert_eq!(ioc.rows[4][5], CellValue::String("N/A".into()), "{name}");
        assert_eq!(ioc.rows[1][5], Number(12.0), "{name}");
    }
    let (xls, _) = read_fixture("tracking.xls");
    let names: Vec<&str> = xls.sheets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Info", "IOCs", "Old"]);
    assert!(xls.sheets[2].layout.hidden);
    assert_eq!(xls.sheets[0].layout.merged, vec![(0, 0, 0, 2)]);
    assert_eq!(xls.format, ioc_tracker::workbook::SourceFormat::Xls);
}

#[test]
fn csv_keeps_text_as_written() {
    use ioc_tracker::workbook::CellValue;
    let (wb, t) = read_fixture("tracking.csv");
    assert_eq!(wb.format, ioc_tracker::workbook::SourceFormat::Csv);
    let rows = &wb.sheets[0].rows;
    assert_eq!(rows[1][7], CellValue::String("000959".into()));
    assert_eq!(rows[4][4], CellValue::String("000959".into()));
    assert_eq!(rows[1][5], CellValue::String("12".into()));
    let tracked = ioc_tracker::workbook::tracked_rows(&wb, &t);
    assert_eq!(tracked.len(), 5);
    assert_eq!(tracked[0].score, Some(12.0));
    assert_eq!(tracked[0].date, "2024-01-15");
}
