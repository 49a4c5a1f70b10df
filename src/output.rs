//! Everything shown to a person or a script: results on stdout (text or `--json`), messages on
//! stderr, colour only on a terminal and never with `NO_COLOR`. Logging goes through `tracing`
//! (set up in `main`); this module is for the command's own output.
//!
//! OWNER: foundation helper (progress bars, colour); others call its methods.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};

/// How output is shown, decided once from the flags and the environment.
#[derive(Debug, Clone)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
    pub color: bool,
    /// stderr is a terminal (progress bars only then)
    pub stderr_tty: bool,
}

impl Output {
    pub fn new(json: bool, quiet: bool) -> Output {
        let stderr_tty = std::io::stderr().is_terminal();
        let color = stderr_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Output {
            json,
            quiet,
            color,
            stderr_tty,
        }
    }

    /// A line of the command's result on stdout.
    pub fn result(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }

    pub fn result_bytes(&self, bytes: &[u8]) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes);
    }

    /// One JSON document on stdout.
    pub fn result_json<T: serde::Serialize>(&self, value: &T) {
        let text = serde_json::to_string_pretty(value)
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        self.result(&text);
    }

    /// A message for the person on stderr (hidden with --quiet).
    pub fn info(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// A warning on stderr (shown even with --quiet).
    pub fn warn(&self, msg: &str) {
        if self.color {
            eprintln!("\x1b[33mwarning:\x1b[0m {msg}");
        } else {
            eprintln!("warning: {msg}");
        }
    }

    /// The final error with its causes: `error: …` then `caused by: …` lines.
    pub fn error(&self, err: &dyn std::error::Error) {
        if self.color {
            eprintln!("\x1b[31merror:\x1b[0m {err}");
        } else {
            eprintln!("error: {err}");
        }
        let mut source = err.source();
        while let Some(cause) = source {
            eprintln!("  caused by: {cause}");
            source = cause.source();
        }
    }
}

/// Set up `tracing` on stderr (level from -v/-q or `RUST_LOG`) and, with `--log-file`, a file.
/// Returns a guard to keep alive for the program's lifetime.
pub fn init_logging(global: &crate::cli::GlobalArgs) -> Option<()> {
    use tracing_subscriber::EnvFilter;
    let level = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_env("IOC_TRACKER_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("ioc_tracker={level}")));
    let ansi = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
    None
}

/// Align a table of cells in columns (widths counted in characters), header underlined.
pub fn render_table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let line: Vec<String> = (0..cols)
            .map(|c| {
                let cell = row.get(c).map(String::as_str).unwrap_or("");
                let pad = width[c].saturating_sub(cell.chars().count());
                format!("{cell}{}", " ".repeat(pad))
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_columns_align_by_characters() {
        let t = super::render_table(&[
            vec!["Type".into(), "IOC".into()],
            vec!["Domain".into(), "bücher[.]example".into()],
        ]);
        assert_eq!(
            t,
            "Type    IOC\n------  ----------------\nDomain  bücher[.]example\n"
        );
    }
}
