//! `ioc-tracker init [--dir DIR] [--force]`: write `ioc-tracker.toml` (the commented example
//! config, every key at its default) and an empty template `ioc_tracking.xlsx` (the seven
//! tracking headers, bold, frozen, filtered, sized) into DIR.
//!
//! Nothing is overwritten without `--force`: both targets are checked before either is written.
//! It reads no settings and contacts nothing.

use std::path::Path;

use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Format, FormatAlign, Workbook, XlsxError,
};

use super::{AppError, ExitCode};
use crate::cli::InitArgs;
use crate::config::{ColumnNames, EXAMPLE_CONFIG};
use crate::output::Output;

/// File names `init` writes.
pub const CONFIG_NAME: &str = "ioc-tracker.toml";
pub const WORKBOOK_NAME: &str = "ioc_tracking.xlsx";

/// Sheet name of the template.
const SHEET: &str = "IOCs";

pub fn init(args: &InitArgs, out: &Output) -> Result<ExitCode, AppError> {
    let config = args.dir.join(CONFIG_NAME);
    let workbook = args.dir.join(WORKBOOK_NAME);
    if !args.force {
        for path in [&config, &workbook] {
            if path.exists() {
                return Err(AppError::Usage(format!(
                    "{} already exists; nothing was written (use --force to overwrite it)",
                    path.display()
                )));
            }
        }
    }
    std::fs::create_dir_all(&args.dir).map_err(|source| AppError::Io {
        context: format!("cannot create the folder {}", args.dir.display()),
        source,
    })?;
    std::fs::write(&config, EXAMPLE_CONFIG).map_err(|source| AppError::Io {
        context: format!("cannot write {}", config.display()),
        source,
    })?;
    write_template(&workbook).map_err(|e| AppError::Io {
        context: format!("cannot write {}", workbook.display()),
        source: into_io(e),
    })?;
    out.result(&format!("created {}", config.display()));
    out.result(&format!("created {}", workbook.display()));
    out.info(&format!(
        "next: put your VirusTotal key in IOC_TRACKER_VT_KEYS, fill in {}, then run `ioc-tracker validate -w {}`",
        workbook.display(),
        workbook.display()
    ));
    Ok(ExitCode::Ok)
}

fn into_io(e: XlsxError) -> std::io::Error {
    match e {
        XlsxError::IoError(io) => io,
        other => std::io::Error::other(other.to_string()),
    }
}

/// The header texts in sheet order, with their column widths.
fn headers() -> Vec<(String, f64)> {
    let c = ColumnNames::default();
    vec![
        (c.date, 12.0),
        (c.analyst, 18.0),
        (c.malware, 20.0),
        (c.ioc_type, 10.0),
        (c.ioc_value, 70.0),
        (c.score, 14.0),
        (c.status, 14.0),
    ]
}

/// The empty tracking workbook: one sheet, the seven headers bold and frozen with a filter,
/// dates formatted as dates, and a (non-blocking) list of kinds in the IOC column.
pub fn write_template(path: &Path) -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(SHEET)?;
    let bold = Format::new().set_bold().set_align(FormatAlign::Center);
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let headers = headers();
    for (col, (name, width)) in (0u16..).zip(&headers) {
        ws.write_string_with_format(0, col, name, &bold)?;
        ws.set_column_width(col, *width)?;
    }
    ws.set_column_format(0, &date)?;
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, 0, (headers.len() - 1) as u16)?;
    let kinds = DataValidation::new()
        .allow_list_strings(&["SHA256", "SHA1", "MD5", "Hash", "Domain", "IP", "URL"])?
        .set_error_style(DataValidationErrorStyle::Warning)
        .set_error_message("ioc-tracker knows SHA256, SHA1, MD5, Hash, Domain, IP and URL (or blank: inferred from the value).")?;
    ws.add_data_validation(1, 3, 1_048_575, 3, &kinds)?;
    wb.save(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out() -> Output {
        Output {
            json: false,
            quiet: true,
            color: false,
            stderr_tty: false,
        }
    }

    #[test]
    fn writes_both_files_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let args = InitArgs {
            dir: dir.path().join("new"),
            force: false,
        };
        assert_eq!(init(&args, &out()).unwrap(), ExitCode::Ok);
        let (config, workbook) = (args.dir.join(CONFIG_NAME), args.dir.join(WORKBOOK_NAME));
        assert_eq!(std::fs::read_to_string(&config).unwrap(), EXAMPLE_CONFIG);
        std::fs::write(&workbook, b"analyst data").unwrap();

        let err = init(&args, &out()).unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Usage);
        let text = err.to_string();
        assert!(
            text.contains("ioc-tracker.toml already exists") && text.contains("--force"),
            "{text}"
        );
        assert_eq!(
            std::fs::read(&workbook).unwrap(),
            b"analyst data",
            "nothing written"
        );

        // Only the workbook present: still refused, and the config is not written either.
        std::fs::remove_file(&config).unwrap();
        let text = init(&args, &out()).unwrap_err().to_string();
        assert!(text.contains("ioc_tracking.xlsx already exists"), "{text}");
        assert!(!config.exists());

        let forced = InitArgs {
            force: true,
            ..args.clone()
        };
        init(&forced, &out()).unwrap();
        assert_ne!(std::fs::read(&workbook).unwrap(), b"analyst data");
    }

    #[test]
    fn template_has_the_seven_headers_on_the_first_row() {
        use calamine::{Data, Reader, open_workbook_auto};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(WORKBOOK_NAME);
        write_template(&path).unwrap();
        let mut wb = open_workbook_auto(&path).unwrap();
        assert_eq!(wb.sheet_names(), vec![SHEET.to_string()]);
        let range = wb.worksheet_range(SHEET).unwrap();
        let row: Vec<String> = range
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(Data::to_string)
            .collect();
        assert_eq!(
            row,
            [
                "Date",
                "Name of Analyst",
                "Malware Name",
                "IOC",
                "IOC Value",
                "Current Score",
                "Status"
            ]
        );
        assert_eq!(range.height(), 1, "no data rows");
    }
}
