//! Everything shown to a person or a script: results on stdout (text or `--json`), messages on
//! stderr, colour only on a terminal and never with `NO_COLOR`. Logging goes through `tracing`,
//! set up here by [`init_logging`] (called once from `main`); the rest of this module is for the
//! command's own output.
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
        let color = stderr_tty && !crate::config::env::no_color();
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

/// The `--log-file` could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the log file {path} for appending (check the folder exists and is writable)", path = path.display())]
pub struct LogFileError {
    pub path: std::path::PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The level `-v`/`-q` ask for: error with `-q`, warn by default, then info, debug, trace.
fn level(global: &crate::cli::GlobalArgs) -> tracing::Level {
    use tracing::Level;
    if global.quiet {
        return Level::ERROR;
    }
    match global.verbose {
        0 => Level::WARN,
        1 => Level::INFO,
        2 => Level::DEBUG,
        _ => Level::TRACE,
    }
}

/// The filter for one destination: `IOC_TRACKER_LOG` (like `RUST_LOG`) if set, else this crate
/// at `level`.
fn filter(level: tracing::Level) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::EnvFilter;
    crate::config::env::process(crate::config::env::LOG)
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(format!("ioc_tracker={level}")))
}

/// Set up `tracing`: on stderr at the `-v`/`-q` level (colour only on a terminal without
/// `NO_COLOR`), and with `--log-file PATH` also appended to that file, without colour, at
/// least at info level (so a scheduled `-q` run still leaves a useful log).
///
/// Nothing to keep alive: the file is written synchronously, line by line.
pub fn init_logging(global: &crate::cli::GlobalArgs) -> Result<(), LogFileError> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let level = level(global);
    let ansi = std::io::stderr().is_terminal() && !crate::config::env::no_color();
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .with_filter(filter(level));
    let file = match &global.log_file {
        None => None,
        Some(path) => {
            let handle = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| LogFileError {
                    path: path.clone(),
                    source,
                })?;
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::sync::Mutex::new(handle))
                    .with_ansi(false)
                    .with_target(false)
                    .with_filter(filter(level.max(tracing::Level::INFO))),
            )
        }
    };
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::GlobalArgs;

    #[test]
    fn verbosity_maps_to_levels_and_the_file_gets_at_least_info() {
        use tracing::Level;
        let g = |verbose, quiet| GlobalArgs {
            verbose,
            quiet,
            ..GlobalArgs::default()
        };
        assert_eq!(level(&g(0, true)), Level::ERROR);
        assert_eq!(level(&g(0, false)), Level::WARN);
        assert_eq!(level(&g(1, false)), Level::INFO);
        assert_eq!(level(&g(2, false)), Level::DEBUG);
        assert_eq!(level(&g(5, false)), Level::TRACE);
        assert_eq!(Level::ERROR.max(Level::INFO), Level::INFO);
        assert_eq!(Level::DEBUG.max(Level::INFO), Level::DEBUG);
    }
}
