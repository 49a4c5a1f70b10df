//! What a run of the tracking fixture (`harness::tracking`) must leave behind, row by row, and
//! the comparisons that check it: the workbook read back cell by cell (everything not the tool's
//! columns equal to the original), the `Removed IOCs` sheet, and the report workbook.

use calamine::Data;

use crate::harness::{Sheet, n, read_sheets, s};

/// Columns of the tracking sheet (0-based) — the fixture's nine, then the two the run appends.
pub const SCORE: usize = 5;
pub const STATUS: usize = 6;
pub const LAST_CHECKED: usize = 9;
pub const NOTES: usize = 10;

pub const COVERED: &str = "score 32 ≥ 5, but detected by FireEye (FireEye) and McAfee (TrellixENS): already covered by EDR";
pub const FLAGGED_9: &str = "flagged: score 9 ≥ 5";
pub const FLAGGED_MD5_5: &str = "flagged: score 6 ≥ 5; EDR: FireEye: not detected, McAfee: detected (Trojan.Generic!AB1C1C79D6C1)";
pub const ALREADY: &str = "score 20 ≥ 5; Status already Malicious, not flagged again (--realert to include); EDR: FireEye: not present, McAfee (TrellixENS): not detected";
pub const NOT_FOUND: &str = "not found in VirusTotal (score 0, not a clean result)";
pub const INVALID: &str = "invalid value: 999.1.1.1 is not a valid IPv4 address (octet 999 > 255)";
pub const NOT_CHECKED: &str = "not checked: POST analyse: gave up after 4 attempts: HTTP 500 InternalError: simulated failure; previous score kept";

/// One IOC row of the fixture and how it must end.
#[derive(Debug, Clone)]
pub struct Exp {
    /// 1-based row in the original sheet
    pub row: usize,
    pub value: &'static str,
    pub kind: Option<&'static str>,
    /// the new score (None: not looked up, cell unchanged)
    pub score: Option<u32>,
    pub note: String,
    pub flagged: bool,
    pub disposition: &'static str,
}

/// The fixture's IOC rows in sheet order (row 4 is blank and holds none).
pub fn rows(failing: bool) -> Vec<Exp> {
    let e = |row, value, kind, score, note: &str, flagged, disposition| Exp {
        row,
        value,
        kind,
        score,
        note: note.to_string(),
        flagged,
        disposition,
    };
    let sha = crate::common::SHA256_1;
    let mut v = vec![
        e(
            2,
            sha,
            Some("sha256"),
            Some(32),
            COVERED,
            false,
            "covered_by_edr",
        ),
        e(
            3,
            "evil.example.com",
            Some("domain"),
            Some(9),
            FLAGGED_9,
            true,
            "flagged",
        ),
        e(
            5,
            crate::harness::URL_1,
            Some("url"),
            Some(2),
            "below threshold: score 2 < 5",
            false,
            "below_threshold",
        ),
        e(
            6,
            "203.0.113.7",
            Some("ip"),
            Some(0),
            NOT_FOUND,
            false,
            "not_found",
        ),
        e(7, "999.1.1.1", None, None, INVALID, false, "invalid"),
        e(
            8,
            sha,
            Some("sha256"),
            Some(32),
            COVERED,
            false,
            "covered_by_edr",
        ),
        e(
            9,
            crate::common::MD5_2,
            Some("md5"),
            Some(20),
            ALREADY,
            false,
            "already_malicious",
        ),
        e(
            10,
            "evil.example.com",
            Some("domain"),
            Some(9),
            FLAGGED_9,
            true,
            "flagged",
        ),
    ];
    let mut next = 11;
    if failing {
        v.push(e(
            11,
            "198.51.100.9",
            Some("ip"),
            None,
            NOT_CHECKED,
            false,
            "not_checked",
        ));
        next = 12;
    }
    v.push(e(
        next,
        crate::common::MD5_5,
        Some("md5"),
        Some(6),
        FLAGGED_MD5_5,
        true,
        "flagged",
    ));
    v.push(e(
        next + 1,
        crate::harness::URL_2,
        Some("url"),
        Some(0),
        "below threshold: score 0 < 5",
        false,
        "below_threshold",
    ));
    v
}

/// The analyst's decision as the run applied it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--yes`: flagged rows moved to `Removed IOCs`
    Remove,
    /// `--no` or no terminal: flagged rows marked Malicious
    Mark,
}

/// The Excel serial of a local date-time (what calamine gives back for a date cell).
pub fn serial(t: chrono::NaiveDateTime) -> f64 {
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    (t - epoch).num_milliseconds() as f64 / 86_400_000.0
}

/// A date-time cell written during the run: within [from, to] (local time, one second slack).
fn assert_run_time(v: &Data, from: f64, to: f64, what: &str) {
    let Data::DateTime(d) = v else {
        panic!("{what}: expected a date-time, got {v:?}")
    };
    let x = d.as_f64();
    let slack = 1.0 / 86_400.0;
    assert!(
        x >= from - slack && x <= to + slack,
        "{what}: {x} not within the run [{from}, {to}]"
    );
}

const WHEN: Data = Data::String(String::new());

/// Replace the run's date-times in `cols` of every row below the header with a marker after
/// checking they fall within the run; `required[i]` says whether row i must have one.
fn take_times(sheet: &mut Sheet, cols: &[usize], from: f64, to: f64) {
    for r in 1..sheet.values.len() {
        for &c in cols {
            if matches!(sheet.cell(r, c), Data::DateTime(_)) {
                let v = sheet.cell(r, c).clone();
                assert_run_time(
                    &v,
                    from,
                    to,
                    &format!("{} row {} col {}", sheet.name, r + 1, c + 1),
                );
                sheet.set(r, c, WHEN);
            }
        }
    }
}

/// Check the updated workbook against the original: other sheets equal (values, formulas,
/// visibility, order with `Removed IOCs` right after the tracking sheet), the tracking sheet
/// equal except the tool columns set exactly, removed rows moved with their removal columns.
/// `from`/`to`: the run's start and end (local serials).
pub fn check_workbook(
    original: &[Sheet],
    updated: &std::path::Path,
    exps: &[Exp],
    mode: Mode,
    from: f64,
    to: f64,
) {
    let mut got = read_sheets(updated);
    let names: Vec<&str> = got.iter().map(|s| s.name.as_str()).collect();
    let removing = mode == Mode::Remove && exps.iter().any(|e| e.flagged);
    if removing {
        assert_eq!(
            names,
            ["Read me", "IOC Tracking", "Removed IOCs", "Lookups"]
        );
    } else {
        assert_eq!(names, ["Read me", "IOC Tracking", "Lookups"]);
    }
    assert_eq!(got[0], original[0], "sheet Read me unchanged");
    assert_eq!(
        got.last().unwrap(),
        original.last().unwrap(),
        "hidden sheet Lookups unchanged"
    );

    // the tracking sheet, built from the original
    let mut want = original[1].clone();
    want.set(0, LAST_CHECKED, s("Last Checked"));
    want.set(0, NOTES, s("Notes"));
    let mut removed_rows = Vec::new();
    for e in exps {
        let r = e.row - 1;
        if let Some(score) = e.score {
            want.set(r, SCORE, n(f64::from(score)));
            want.set(r, LAST_CHECKED, WHEN);
        }
        want.set(r, NOTES, s(&e.note));
        if e.flagged {
            match mode {
                Mode::Mark => want.set(r, STATUS, s("Malicious")),
                Mode::Remove => {
                    let mut line = want.values[r].clone();
                    line.resize(NOTES + 1, Data::Empty);
                    line.extend([WHEN, n(f64::from(e.score.unwrap())), s(&e.note)]);
                    removed_rows.push((r, line));
                }
            }
        }
    }
    let mut want_removed = None;
    if removing {
        let mut header = want.values[0].clone();
        header.extend([s("Removed On"), s("Score at Removal"), s("Removal Reason")]);
        let mut sheet = Sheet {
            name: "Removed IOCs".into(),
            visible: true,
            values: vec![header],
            formulas: Vec::new(),
        };
        sheet
            .values
            .extend(removed_rows.iter().map(|(_, l)| l.clone()));
        sheet.normalise();
        // the removed rows leave the tracking sheet; the rows below move up
        for (r, _) in removed_rows.iter().rev() {
            want.values.remove(*r);
        }
        want_removed = Some(sheet);
    }
    want.normalise();

    let tracking = &mut got[1];
    take_times(tracking, &[LAST_CHECKED], from, to);
    assert_eq!(tracking.formulas, want.formulas, "formulas of IOC Tracking");
    assert_eq!(tracking.visible, want.visible);
    for (i, (g, w)) in tracking.values.iter().zip(&want.values).enumerate() {
        assert_eq!(g, w, "IOC Tracking row {}", i + 1);
    }
    assert_eq!(
        tracking.values.len(),
        want.values.len(),
        "IOC Tracking row count"
    );
    if let Some(want_removed) = want_removed {
        let removed = &mut got[2];
        take_times(removed, &[LAST_CHECKED, NOTES + 1], from, to);
        assert_eq!(*removed, want_removed, "sheet Removed IOCs");
    }
}

/// The report workbook: one row per flagged IOC with its original cells, the score, one
/// verdict per EDR group, the link, the reason and the action; the Summary's counts.
pub fn check_report(
    original: &Sheet,
    path: &std::path::Path,
    exps: &[Exp],
    action: &str,
    counts: &[(&str, f64)],
) {
    let sheets = read_sheets(path);
    let names: Vec<&str> = sheets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Malicious IOCs", "Summary"]);
    let mut header = original.values[0].clone();
    header.extend(
        [
            "Score",
            "FireEye",
            "McAfee",
            "VirusTotal",
            "Reason",
            "Action",
        ]
        .map(s),
    );
    let mut want = vec![header];
    for e in exps.iter().filter(|e| e.flagged) {
        let mut line = original.values[e.row - 1].clone();
        line.resize(9, Data::Empty);
        let (fe, mc, link) = match e.kind {
            Some("md5") => (
                "Not detected (FireEye)",
                "Detected (McAfee: Trojan.Generic!AB1C1C79D6C1)",
                format!("https://www.virustotal.com/gui/file/{}", e.value),
            ),
            // not a file: the EDR verdicts do not apply
            _ => (
                "n/a",
                "n/a",
                format!("https://www.virustotal.com/gui/domain/{}", e.value),
            ),
        };
        line.extend([
            n(f64::from(e.score.unwrap())),
            s(fe),
            s(mc),
            s(&link),
            s(&e.note),
            s(action),
        ]);
        want.push(line);
    }
    assert_eq!(sheets[0].values, want, "report sheet Malicious IOCs");
    let summary = &sheets[1];
    for (label, value) in counts {
        let row = summary
            .values
            .iter()
            .find(|r| r.first() == Some(&s(label)))
            .unwrap_or_else(|| panic!("Summary has no {label:?}: {:?}", summary.values));
        assert_eq!(row.get(1), Some(&n(*value)), "Summary {label}");
    }
}

/// The Summary counts of the fixture: (label, value) for a run with `failing` and `mode`.
pub fn summary_counts(failing: bool, mode: Mode, requests: u64) -> Vec<(&'static str, f64)> {
    let f = if failing { 1.0 } else { 0.0 };
    vec![
        ("Threshold", 5.0),
        ("Rows with an IOC", 10.0 + f),
        ("Unique IOCs", 7.0 + f),
        ("Checked", 9.0),
        ("Flagged", 3.0),
        ("Below threshold", 2.0),
        ("Covered by EDR", 2.0),
        ("Already malicious", 1.0),
        ("Not found in VirusTotal", 1.0),
        ("Invalid", 1.0),
        ("Not checked", f),
        (
            "Removed from tracking",
            if mode == Mode::Remove { 3.0 } else { 0.0 },
        ),
        (
            "Marked Malicious",
            if mode == Mode::Mark { 3.0 } else { 0.0 },
        ),
        ("Total requests", requests as f64),
    ]
}
