//! Compose the alert: `Report` → `lettre::Message` (multipart/mixed: an alternative of a plain
//! text and an HTML part, then the report workbook). Pure: no I/O, no clock (the date comes from
//! the report).
//!
//! The HTML is written for Outlook: Times New Roman 10 pt in an inline `style` on every element
//! (mail clients drop `<style>` blocks), table attributes plus `border-collapse`. Every value is
//! HTML-escaped and every IOC defanged, and no link is written anywhere: the VirusTotal links
//! are in the attached report, not in the mail, so nothing in the mail is clickable.

use std::fmt::Write as _;

use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};

use super::{Attachment, EmailError};
use crate::config::EmailSettings;
use crate::ioc::{Ioc, IocKind, defang};
use crate::report::{Report, RowResult};
use crate::rules::Verdict;

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// The font, on every element.
const FONT: &str = "font-family:'Times New Roman',Times,serif;font-size:10pt";
const CELL: &str = "font-family:'Times New Roman',Times,serif;font-size:10pt;border:1px solid #808080;padding:3px 6px;vertical-align:top;text-align:left";

/// Whether the report calls for an email: something flagged, or `send_when_clean`. Whether email
/// is enabled at all (`[email] enabled`, `--no-email`) is the caller's decision.
pub fn should_send(report: &Report, settings: &EmailSettings) -> bool {
    report.flagged().next().is_some() || settings.send_when_clean
}

/// The subject from the template: `{flagged}`, `{checked}` and `{date}` (yyyy-mm-dd, the run's
/// start) are replaced.
pub fn subject(report: &Report, settings: &EmailSettings) -> String {
    settings
        .subject
        .replace("{flagged}", &report.flagged().count().to_string())
        .replace("{checked}", &report.counts.checked.to_string())
        .replace("{date}", &report.started.format("%Y-%m-%d").to_string())
}

/// Build the message. Fails on a missing from/to or an address that does not parse.
pub fn compose(
    report: &Report,
    settings: &EmailSettings,
    attachment: Option<&Attachment>,
) -> Result<Message, EmailError> {
    let (from, to) = addresses(settings)?;
    let mut builder = Message::builder()
        .from(from)
        .subject(subject(report, settings))
        .date(report.finished.into())
        .message_id(None)
        .user_agent(format!("ioc-tracker {}", env!("CARGO_PKG_VERSION")));
    for m in to {
        builder = builder.to(m);
    }
    for cc in &settings.cc {
        builder = builder.cc(mailbox("cc", cc)?);
    }

    let table = Table::new(report);
    let body =
        MultiPart::alternative_plain_html(render_text(report, &table), render_html(report, &table));
    let mut mixed = MultiPart::mixed().multipart(body);
    if let Some(att) = attachment {
        let ct = ContentType::parse(XLSX_TYPE).map_err(|e| EmailError::Build(e.to_string()))?;
        let part: SinglePart =
            lettre::message::Attachment::new(att.filename.clone()).body(att.bytes.clone(), ct);
        mixed = mixed.singlepart(part);
    }
    builder
        .multipart(mixed)
        .map_err(|e| EmailError::Build(e.to_string()))
}

/// The short message `ioc-tracker test-email` sends: same from/to/cc as the alert, no report.
pub fn test_message(settings: &EmailSettings) -> Result<Message, EmailError> {
    let (from, to) = addresses(settings)?;
    let text = format!(
        "This is a test message from ioc-tracker {}.\n\nIf you can read it, the [email] settings work: \
         the IOC alerts will reach {}.\n",
        env!("CARGO_PKG_VERSION"),
        settings.to.join(", ")
    );
    let paragraphs: String = text
        .split("\n\n")
        .map(|p| format!("<p style=\"{FONT}\">{}</p>\n", escape_html(p.trim())))
        .collect();
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n<body style=\"{FONT}\">\n{paragraphs}</body></html>\n"
    );
    let mut builder = Message::builder()
        .from(from)
        .subject("ioc-tracker test message")
        .message_id(None)
        .user_agent(format!("ioc-tracker {}", env!("CARGO_PKG_VERSION")));
    for m in to {
        builder = builder.to(m);
    }
    for cc in &settings.cc {
        builder = builder.cc(mailbox("cc", cc)?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| EmailError::Build(e.to_string()))
}

/// The sender and the recipients, checked.
fn addresses(settings: &EmailSettings) -> Result<(Mailbox, Vec<Mailbox>), EmailError> {
    let from = settings.from.as_deref().ok_or(EmailError::Incomplete {
        key: "from",
        hint: "set the sender address, e.g. from = \"IOC Tracker <soc-bot@example.com>\"",
    })?;
    if settings.to.is_empty() {
        return Err(EmailError::Incomplete {
            key: "to",
            hint: "set at least one recipient, e.g. to = [\"soc@example.com\"]",
        });
    }
    let to = settings
        .to
        .iter()
        .map(|t| mailbox("to", t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((mailbox("from", from)?, to))
}

fn mailbox(key: &'static str, value: &str) -> Result<Mailbox, EmailError> {
    value
        .trim()
        .parse()
        .map_err(|e: lettre::address::AddressError| EmailError::Address {
            key,
            value: value.to_string(),
            reason: e.to_string(),
        })
}

/// The flagged rows as display strings, shared by the HTML and the text part.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(report: &Report) -> Table {
        let mut header: Vec<String> = ["Date", "Analyst", "Malware", "Type", "IOC", "Score"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        header.extend(report.edr_groups.iter().cloned());
        header.push("Reason".into());
        header.push("Action".into());
        let rows = report
            .flagged()
            .map(|r| row_cells(r, &report.edr_groups))
            .collect();
        Table { header, rows }
    }
}

fn row_cells(row: &RowResult, groups: &[String]) -> Vec<String> {
    let kind = match &row.ioc {
        Some(ioc) => ioc.kind().label().to_string(),
        None => row.declared_kind.clone(),
    };
    let ioc = match &row.ioc {
        Some(ioc) => shown_ioc(ioc),
        None => defang_raw(&row.raw_value),
    };
    let mut cells = vec![
        row.date.clone(),
        row.analyst.clone(),
        row.malware.clone(),
        kind,
        ioc,
        row.score.map_or_else(|| "-".to_string(), |s| s.to_string()),
    ];
    for g in groups {
        cells.push(verdict_text(row.verdicts.get(g)));
    }
    cells.push(row.note.clone());
    cells.push(row.action.map_or("undecided", |a| a.as_str()).to_string());
    cells
}

/// The defanged IOC; an internationalised domain (or URL host) is shown in Unicode first, as the
/// analyst wrote it, then in the punycode form that was looked up:
/// `bücher[.]example (xn--bcher-kva[.]example)`.
fn shown_ioc(ioc: &Ioc) -> String {
    let value = ioc.value();
    let host = match ioc.kind() {
        IocKind::Domain => Some(value.to_string()),
        IocKind::Url => url::Url::parse(value)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string)),
        _ => None,
    };
    if let Some(host) = host.filter(|h| h.contains("xn--")) {
        let (unicode, result) = idna::domain_to_unicode(&host);
        if result.is_ok() && unicode != host {
            let unicode_value = value.replacen(&host, &unicode, 1);
            return format!("{} ({})", defang(&unicode_value), ioc.defanged());
        }
    }
    ioc.defanged()
}

fn verdict_text(v: Option<&Verdict>) -> String {
    match v {
        Some(Verdict::Detected { engine, result }) => match result {
            Some(r) => format!("Detected ({engine}: {r})"),
            None => format!("Detected ({engine})"),
        },
        Some(Verdict::NotDetected { .. }) => "Not detected".to_string(),
        Some(Verdict::NotPresent) => "Not present".to_string(),
        // not a file: the EDR engines' verdicts do not apply
        None => "n/a".to_string(),
    }
}

fn summary(report: &Report) -> String {
    let c = &report.counts;
    format!(
        "{} IOCs checked: {} flagged malicious (score >= {}), {} covered by EDR, {} not found on VirusTotal, {} not checked.",
        c.checked,
        report.flagged().count(),
        report.threshold,
        c.covered_by_edr,
        c.not_found,
        c.not_checked
    )
}

fn all_clear(report: &Report) -> String {
    format!(
        "All clear: none of the {} IOCs checked on {} reached the threshold of {}.",
        report.counts.checked,
        report.started.format("%Y-%m-%d"),
        report.threshold
    )
}

const FOOTER: &str =
    "IOC values are defanged. VirusTotal links and every checked row are in the attached report.";

fn render_html(report: &Report, table: &Table) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n");
    let _ = writeln!(h, "<body style=\"{FONT}\">");
    let p = format!("<p style=\"{FONT};margin:0 0 8px 0\">");
    if table.rows.is_empty() {
        let _ = writeln!(h, "{p}{}</p>", escape_html(&all_clear(report)));
    }
    let _ = writeln!(h, "{p}{}</p>", escape_html(&summary(report)));
    if !table.rows.is_empty() {
        let _ = writeln!(
            h,
            "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\" style=\"{FONT};border-collapse:collapse;border:1px solid #808080\">"
        );
        let _ = write!(h, "<tr style=\"{FONT};background-color:#d9d9d9\">");
        for name in &table.header {
            let _ = write!(
                h,
                "<th style=\"{CELL};font-weight:bold\">{}</th>",
                escape_html(name)
            );
        }
        h.push_str("</tr>\n");
        for row in &table.rows {
            let _ = write!(h, "<tr style=\"{FONT}\">");
            for cell in row {
                let _ = write!(h, "<td style=\"{CELL}\">{}</td>", escape_html(cell));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    }
    let _ = writeln!(
        h,
        "<p style=\"{FONT};margin:8px 0 0 0;color:#595959\">{}</p>",
        escape_html(FOOTER)
    );
    h.push_str("</body></html>\n");
    h
}

fn render_text(report: &Report, table: &Table) -> String {
    let mut t = String::new();
    if table.rows.is_empty() {
        t.push_str(&all_clear(report));
        t.push('\n');
    }
    t.push_str(&summary(report));
    t.push_str("\n\n");
    if !table.rows.is_empty() {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = table.header.iter().map(|h| width(h)).collect();
        for row in &table.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(&one_line(cell)));
            }
        }
        let line = |cells: &[String]| {
            let mut l = String::new();
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                let cell = one_line(cell);
                l.push_str(&cell);
                if i + 1 < cells.len() {
                    l.extend(std::iter::repeat_n(' ', w - width(&cell) + 2));
                }
            }
            l.truncate(l.trim_end().len());
            l.push('\n');
            l
        };
        t.push_str(&line(&table.header));
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        t.push_str(&line(&rule));
        for row in &table.rows {
            t.push_str(&line(row));
        }
        t.push('\n');
    }
    t.push_str(FOOTER);
    t.push('\n');
    t
}

/// A cell on one line: line breaks and tabs become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Escape text for HTML element content and double- or single-quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Defang a raw cell value that did not parse as an IOC (so `Ioc::defanged` is not available):
/// `http`/`https`/`ftp` schemes become `hxxp`/`hxxps`/`fxp`, every `.` becomes `[.]` and `://`
/// stays, so nothing in it can be clicked. Already-defanged text is left as it is.
pub fn defang_raw(raw: &str) -> String {
    let trimmed = raw.trim();
    let lower = trimmed.to_ascii_lowercase();
    let (scheme, rest) = if lower.starts_with("https") {
        ("hxxps", &trimmed[5..])
    } else if lower.starts_with("http") {
        ("hxxp", &trimmed[4..])
    } else if lower.starts_with("ftp") {
        ("fxp", &trimmed[3..])
    } else {
        ("", trimmed)
    };
    let mut out = String::from(scheme);
    let mut chars = rest.chars().peekable();
    let mut prev_open = false;
    while let Some(c) = chars.next() {
        if c == '.' && !(prev_open && chars.peek() == Some(&']')) {
            out.push_str("[.]");
        } else {
            out.push(c);
        }
        prev_open = c == '[';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_characters() {
        assert_eq!(
            escape_html(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(
            escape_html("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(escape_html("Zoë 東京"), "Zoë 東京");
    }

    #[test]
    fn raw_values_are_defanged() {
        assert_eq!(
            defang_raw("https://evil.example/a.php"),
            "hxxps://evil[.]example/a[.]php"
        );
        assert_eq!(defang_raw("HTTP://x.y"), "hxxp://x[.]y");
        assert_eq!(defang_raw("198.51.100.7"), "198[.]51[.]100[.]7");
        assert_eq!(defang_raw("evil[.]example"), "evil[.]example");
        assert_eq!(defang_raw("  not an ioc  "), "not an ioc");
    }

    #[test]
    fn one_line_removes_breaks() {
        assert_eq!(one_line("a\nb\tc"), "a b c");
    }
}
