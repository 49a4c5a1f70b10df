//! Fixture workbooks for the integration tests, built at test time with rust_xlsxwriter so that
//! no binary blobs are needed for the .xlsx cases (the .ods, .xls and password-protected files
//! are real foreign formats and are committed under `fixtures/`, with the script that made them).
//!
//! Each builder documents the rows it writes; the tests check counts and problems against those
//! comments. `sample` also produces the committed `fixtures/sample_ioc_tracking.xlsx` (see the
//! ignored test `regenerate_sample_fixture`).
#![allow(dead_code)]

pub mod generated;

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use rust_xlsxwriter::{DocProperties, Format, Formula, Workbook, Worksheet};

pub const HEADER: [&str; 7] = [
    "Date",
    "Name of Analyst",
    "Malware Name",
    "IOC",
    "IOC Value",
    "Current Score",
    "Status",
];

/// Made-up hashes (digests of "ioc-tracker sample N", not of any real file).
pub const SHA256_1: &str = "ee09aafca8a533ade6d563958fd77aa7e9cb62a2e37b61b397ec4f0519ae1a95";
pub const MD5_2: &str = "42e9c03185563eeaaf3f6bd956674e0a";
pub const SHA1_3: &str = "b31ef4f6a08a1484f18a5b9d0240eac158dc4572";
pub const SHA256_4: &str = "ed3e74697116ecfbe4238fde1ad42140489cd7f077d93fa165292479830f7a4b";
pub const MD5_5: &str = "eb535ebfa47684bd4ac356799fa61c64";
pub const SHA256_6: &str = "5186db8b7ddb3420f3fadb27af4a5447aff8a225a69a85b20e3e4bff7efefd45";
pub const SHA1_7: &str = "51835b314a13a80a29260554f90332b5c459e84a";

/// The folder of committed fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

pub fn datetime(y: i32, m: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, mi, 0)
        .unwrap()
}

/// A cell to write.
#[derive(Clone)]
pub enum C {
    S(&'static str),
    N(f64),
    D(NaiveDateTime),
    F(&'static str, &'static str),
    Blank,
}

fn put(ws: &mut Worksheet, row: u32, col: u16, cell: &C) {
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    let datetime_format = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    match cell {
        C::S(s) => {
            ws.write_string(row, col, *s).unwrap();
        }
        C::N(n) => {
            ws.write_number(row, col, *n).unwrap();
        }
        C::D(d) => {
            let f = if d.time() == chrono::NaiveTime::MIN {
                &date_format
            } else {
                &datetime_format
            };
            ws.write_datetime_with_format(row, col, d, f).unwrap();
        }
        C::F(formula, result) => {
            ws.write_formula(row, col, Formula::new(*formula).set_result(*result))
                .unwrap();
        }
        C::Blank => {}
    }
}

/// Write `rows` from (`first_row`, `first_col`) into the sheet.
pub fn put_rows(ws: &mut Worksheet, first_row: u32, first_col: u16, rows: &[Vec<C>]) {
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            put(ws, first_row + r as u32, first_col + c as u16, cell);
        }
    }
}

fn header(names: &[&'static str]) -> Vec<C> {
    names.iter().map(|n| C::S(n)).collect()
}

fn new_workbook() -> Workbook {
    let mut wb = Workbook::new();
    // Fixed properties so that a regenerated fixture only changes when its content does.
    wb.set_properties(
        &DocProperties::new()
            .set_author("ioc-tracker fixtures")
            .set_creation_datetime(&rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 1, 1).unwrap()),
    );
    wb
}

/// The bundled sample that `demo` copies: sheet "IOC Tracking" (header on row 1, columns
/// `HEADER` + "Ticket", data on rows 2–16) and sheet "Notes".
///
/// | row | IOC | IOC Value | expected |
/// | --- | --- | --- | --- |
/// | 2 | SHA256 | SHA256_1 | sha256 |
/// | 3 | Domain | `evil-loader[.]example.com` | domain evil-loader.example.com |
/// | 4 | MD5 | MD5_2 upper-case | md5 |
/// | 5 | IP | `203.0.113[.]45` | ip 203.0.113.45 |
/// | 6 | URL | `hxxps://payload.example.net/dl/invoice.zip` | url |
/// | 7 | SHA1 | SHA1_3 | sha1 |
/// | 8 | IPv6 | `2001:db8::dead:beef` | ip |
/// | 9 | Domain Name | `cdn-update.example.org` | domain |
/// | 10 | Hash | SHA256_4 | sha256 (inferred) |
/// | 11 | IP Address | `198.51.100.23` | ip |
/// | 12 | URL | `hxxp://login-portal[.]example[.]test/verify.php` | url |
/// | 13 | MD5 | MD5_5 | md5 |
/// | 14 | SHA256 | SHA256_1 upper-case | duplicate of row 2 |
/// | 15 | IP | `999.1.1.1` | invalid |
/// | 16 | Domain | `mail.example.net` | domain |
#[rustfmt::skip]
pub fn sample(path: &Path) {
    let mut wb = new_workbook();
    let ws = wb.add_worksheet().set_name("IOC Tracking").unwrap();
    let mut names = HEADER.to_vec();
    names.push("Ticket");
    let sha256_1_upper: &'static str = SHA256_1.to_uppercase().leak();
    let md5_2_upper: &'static str = MD5_2.to_uppercase().leak();
    use C::*;
    let rows: Vec<Vec<C>> = vec![
        header(&names),
        vec![D(date(2024, 1, 15)), S("A. Rivera"), S("Emotet"), S("SHA256"), S(SHA256_1), N(12.0), S("Active"), S("INC-1001")],
        vec![D(date(2024, 1, 15)), S("A. Rivera"), S("Emotet"), S("Domain"), S("evil-loader[.]example.com"), N(8.0), S("Active"), S("INC-1001")],
        vec![D(date(2024, 1, 22)), S("J. Chen"), S("AgentTesla"), S("MD5"), S(md5_2_upper), N(3.0), S("Monitoring"), S("INC-1002")],
        vec![D(date(2024, 1, 22)), S("J. Chen"), S("AgentTesla"), S("IP"), S("203.0.113[.]45"), N(0.0), S("Monitoring"), S("INC-1002")],
        vec![D(date(2024, 2, 3)), S("S. Okafor"), S("QakBot"), S("URL"), S("hxxps://payload.example.net/dl/invoice.zip"), N(6.0), S("Active"), S("INC-1007")],
        vec![D(date(2024, 2, 3)), S("S. Okafor"), S("QakBot"), S("SHA1"), S(SHA1_3), N(15.0), S("Active"), S("INC-1007")],
        vec![D(date(2024, 2, 10)), S("A. Rivera"), S("Cobalt Strike"), S("IPv6"), S("2001:db8::dead:beef"), N(2.0), S("Monitoring"), S("INC-1011")],
        vec![D(date(2024, 2, 10)), S("A. Rivera"), S("Cobalt Strike"), S("Domain Name"), S("cdn-update.example.org"), N(5.0), S("Active"), S("INC-1011")],
        vec![D(date(2024, 2, 18)), S("J. Chen"), S("LockBit"), S("Hash"), S(SHA256_4), N(20.0), S("Active"), S("INC-1015")],
        vec![D(date(2024, 2, 18)), S("J. Chen"), S("LockBit"), S("IP Address"), S("198.51.100.23"), N(1.0), S("Monitoring"), S("INC-1015")],
        vec![D(date(2024, 3, 1)), S("S. Okafor"), S("RedLine"), S("URL"), S("hxxp://login-portal[.]example[.]test/verify.php"), N(4.0), S("Monitoring"), S("INC-1020")],
        vec![D(date(2024, 3, 1)), S("S. Okafor"), S("RedLine"), S("MD5"), S(MD5_5), N(0.0), S("Monitoring"), S("INC-1020")],
        vec![D(date(2024, 3, 8)), S("A. Rivera"), S("Emotet"), S("SHA256"), S(sha256_1_upper), N(12.0), S("Active"), S("INC-1024")],
        vec![D(date(2024, 3, 12)), S("J. Chen"), S("Unknown"), S("IP"), S("999.1.1.1"), S("N/A"), S("Monitoring"), S("INC-1026")],
        vec![D(date(2024, 3, 15)), S("S. Okafor"), S("FormBook"), S("Domain"), S("mail.example.net"), N(7.0), S("Active"), S("INC-1030")],
    ];
    put_rows(ws, 0, 0, &rows);
    for (col, width) in [(0u16, 12.0), (1, 16.0), (2, 14.0), (3, 12.0), (4, 68.0), (5, 13.0), (6, 12.0), (7, 10.0)] {
        ws.set_column_width(col, width).unwrap();
    }
    let notes = wb.add_worksheet().set_name("Notes").unwrap();
    put_rows(
        notes,
        0,
        0,
        &[
            vec![S("About this workbook")],
            vec![S("Sample IOC tracking workbook bundled with ioc-tracker (`ioc-tracker demo`).")],
            vec![S("All values are made up: documentation IP ranges (RFC 5737, RFC 3849) and example domains.")],
        ],
    );
    wb.save(path).unwrap();
}

/// A realistic analyst workbook: sheet "Read me" (text, no header), sheet "IOC Tracking"
/// (header on row 1 with extra columns "Ticket" and "Comment") and a hidden sheet "Lookups".
///
/// | row | IOC | IOC Value | expected |
/// | --- | --- | --- | --- |
/// | 2 | SHA256 | SHA256_1 upper-case | sha256 |
/// | 3 | MD5 | MD5_2 (score is a formula `=F2/2`) | md5 |
/// | 4 | Domain | `evil[.]example.com` | domain evil.example.com |
/// | 5 | (blank row) | | skipped |
/// | 6 | URL | `hxxps://payload[.]example.net/a?b=1` (score "N/A") | url |
/// | 7 | IP | `203.0.113.7` | ip |
/// | 8 | IP | `999.1.1.1` | invalid |
/// | 9 | SHA256 | SHA256_1 | duplicate of row 2 |
/// | 10 | MD5 | text `000959` | invalid |
/// | 11 | Hash | the number 12345678901234567890123456789012 | invalid (precision lost) |
/// | 12 | Domain | `not a domain` | invalid |
/// | 13 | (blank) | `198.51.100[.]9` | ip (inferred) |
/// | 14 | Domain | ` Evil.Example.com. ` | duplicate of row 4 |
///
/// Counts: rows 12, valid 8, invalid 4, duplicates 2, unique 6, blank rows 1;
/// sha256 2, md5 1, domain 2, url 1, ip 2.
#[rustfmt::skip]
pub fn realistic(path: &Path) {
    let mut wb = new_workbook();
    use C::*;
    let readme = wb.add_worksheet().set_name("Read me").unwrap();
    put_rows(
        readme,
        0,
        0,
        &[vec![S("IOC tracking for the SOC")], vec![S("One row per indicator; see the IOC Tracking sheet.")]],
    );
    let ws = wb.add_worksheet().set_name("IOC Tracking").unwrap();
    let mut names = HEADER.to_vec();
    names.extend(["Ticket", "Comment"]);
    let sha256_1_upper: &'static str = SHA256_1.to_uppercase().leak();
    let rows: Vec<Vec<C>> = vec![
        header(&names),
        vec![D(datetime(2024, 1, 15, 9, 30)), S("A. Rivera"), S("Emotet"), S("SHA256"), S(sha256_1_upper), N(12.0), S("Active"), S("000959"), S("from phishing mail")],
        vec![D(date(2024, 1, 16)), S("A. Rivera"), S("Emotet"), S("MD5"), S(MD5_2), F("=F2/2", "6"), S("Active"), S("INC-2")],
        vec![D(date(2024, 1, 16)), S("J. Chen"), S("Emotet"), S("Domain"), S("evil[.]example.com"), N(5.0), S("Active"), S("INC-2")],
        vec![],
        vec![D(date(2024, 2, 1)), S("J. Chen"), S("QakBot"), S("URL"), S("hxxps://payload[.]example.net/a?b=1"), S("N/A"), S("Monitoring"), S("INC-3")],
        vec![D(date(2024, 2, 1)), S("J. Chen"), S("QakBot"), S("IP"), S("203.0.113.7"), N(0.0), S("Monitoring"), S("INC-3")],
        vec![D(date(2024, 2, 2)), S("S. Okafor"), S("Unknown"), S("IP"), S("999.1.1.1"), Blank, S("Monitoring")],
        vec![D(date(2024, 2, 3)), S("S. Okafor"), S("Emotet"), S("SHA256"), S(SHA256_1), N(12.0), S("Active"), S("INC-4")],
        vec![D(date(2024, 2, 3)), S("S. Okafor"), S("Unknown"), S("MD5"), S("000959"), Blank, S("Monitoring")],
        vec![D(date(2024, 2, 4)), S("S. Okafor"), S("Unknown"), S("Hash"), N(12345678901234567890123456789012.0), Blank, S("Monitoring")],
        vec![D(date(2024, 2, 5)), S("A. Rivera"), S("Unknown"), S("Domain"), S("not a domain"), Blank, S("Monitoring")],
        vec![D(date(2024, 2, 6)), S("A. Rivera"), S("RedLine"), Blank, S("198.51.100[.]9"), N(2.0), S("Monitoring")],
        vec![D(date(2024, 2, 7)), S("A. Rivera"), S("Emotet"), S("Domain"), S(" Evil.Example.com. "), N(5.0), S("Active")],
    ];
    put_rows(ws, 0, 0, &rows);
    let lookups = wb.add_worksheet().set_name("Lookups").unwrap();
    put_rows(lookups, 0, 0, &[vec![S("Kinds")], vec![S("SHA256")], vec![S("Domain")]]);
    lookups.set_hidden(true);
    wb.save(path).unwrap();
}

/// Columns in another order, header names spelled differently, extra column "Ticket".
///
/// | row | IOC Value | expected |
/// | --- | --- | --- |
/// | 2 | SHA1_7 (IOC "sha-1") | sha1 |
/// | 3 | `hxxp://203.0.113[.]5/x` (IOC "url") | url |
/// | 4 | `example[.]org` (IOC "domain") | domain |
#[rustfmt::skip]
pub fn reordered(path: &Path) {
    let mut wb = new_workbook();
    use C::*;
    let ws = wb.add_worksheet().set_name("Tracking").unwrap();
    let rows = vec![
        vec![S("STATUS"), S("ioc_value"), S("Ticket"), S("ioc"), S("date"), S("Current-Score"), S("name of analyst"), S("MALWARE NAME")],
        vec![S("Active"), S(SHA1_7), S("T-1"), S("sha-1"), D(date(2024, 4, 1)), N(9.0), S("J. Chen"), S("Remcos")],
        vec![S("Active"), S("hxxp://203.0.113[.]5/x"), S("T-2"), S("url"), D(date(2024, 4, 2)), N(1.0), S("J. Chen"), S("Remcos")],
        vec![S("Monitoring"), S("example[.]org"), S("T-3"), S("domain"), D(date(2024, 4, 3)), N(0.0), S("J. Chen"), S("Remcos")],
    ];
    put_rows(ws, 0, 0, &rows);
    wb.save(path).unwrap();
}

/// A title in B1 (merged B1:H1), row 2 empty, the header on row 3 from column B, data on
/// rows 4–6 (so calamine's used range starts at B1).
///
/// | row | IOC Value | expected |
/// | --- | --- | --- |
/// | 4 | MD5_5 | md5 |
/// | 5 | `198.51.100.77` | ip |
/// | 6 | `2001:DB8:0:0:0:0:0:1` | ip 2001:db8::1 |
#[rustfmt::skip]
pub fn title_above(path: &Path) {
    let mut wb = new_workbook();
    use C::*;
    let ws = wb.add_worksheet().set_name("Q1 IOCs").unwrap();
    ws.merge_range(0, 1, 0, 7, "IOC tracking – Q1 2024", &Format::new().set_bold())
        .unwrap();
    let rows = vec![
        header(&HEADER),
        vec![D(date(2024, 1, 2)), S("A. Rivera"), S("AgentTesla"), S("MD5"), S(MD5_5), N(3.0), S("Active")],
        vec![D(date(2024, 1, 3)), S("A. Rivera"), S("AgentTesla"), S("IPv4"), S("198.51.100.77"), N(0.0), S("Monitoring")],
        vec![D(date(2024, 1, 4)), S("A. Rivera"), S("AgentTesla"), S("IPv6"), S("2001:DB8:0:0:0:0:0:1"), N(0.0), S("Monitoring")],
    ];
    put_rows(ws, 2, 1, &rows);
    wb.save(path).unwrap();
}

/// Two sheets of text, none of the expected header names.
#[rustfmt::skip]
pub fn no_header(path: &Path) {
    let mut wb = new_workbook();
    use C::*;
    let a = wb.add_worksheet().set_name("Summary").unwrap();
    put_rows(a, 0, 0, &[vec![S("Quarterly summary")], vec![S("Indicator"), S("Kind")], vec![S("example.com"), S("domain")]]);
    let b = wb.add_worksheet().set_name("Contacts").unwrap();
    put_rows(b, 0, 0, &[vec![S("Name"), S("Email")], vec![S("J. Chen"), S("j.chen@example.com")]]);
    wb.save(path).unwrap();
}

/// The header on row 1 of sheet "IOC Tracking" and nothing under it but an empty string cell.
pub fn header_no_rows(path: &Path) {
    let mut wb = new_workbook();
    use C::*;
    let ws = wb.add_worksheet().set_name("IOC Tracking").unwrap();
    put_rows(ws, 0, 0, &[header(&HEADER), vec![], vec![Blank, S("  ")]]);
    wb.save(path).unwrap();
}

/// The header without "IOC Value" (the analyst called it "Indicator").
#[rustfmt::skip]
pub fn missing_ioc_value(path: &Path) {
    let mut wb = new_workbook();
    use C::*;
    let ws = wb.add_worksheet().set_name("IOC Tracking").unwrap();
    put_rows(
        ws,
        0,
        0,
        &[
            header(&["Date", "Name of Analyst", "Malware Name", "IOC", "Indicator", "Current Score", "Status"]),
            vec![D(date(2024, 1, 2)), S("A. Rivera"), S("Emotet"), S("Domain"), S("example.com"), N(0.0), S("Active")],
        ],
    );
    wb.save(path).unwrap();
}

/// Deterministic bytes that are no known format.
pub fn random_bytes() -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}
