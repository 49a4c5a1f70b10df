//! The commands, each a pipeline in data-flow order with no logic of its own:
//! settings → read → parse → plan → look up → rules → confirm → write → email.
//!
//! `dispatch` maps a parsed command line to one of the command modules and their result to an
//! [`ExitCode`]. Every error that reaches here is an [`AppError`] whose message tells the user what
//! to do; `main` prints it once with its causes.

pub mod check;
pub mod demo;
pub mod init;
pub mod interrupt;
pub mod run;
pub mod simulate;
pub mod test_email;
pub mod validate;

use crate::cli::{Cli, Command};
use crate::config::{self, Settings};
use crate::output::Output;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// everything checked and all outputs done
    Ok = 0,
    /// outputs written, but some IOCs were not checked or the email failed
    Partial = 1,
    /// configuration, usage or input error before any lookup; nothing written
    Usage = 2,
    /// interrupted; what was known is written
    Interrupted = 130,
}

/// One error enum for the top: each layer's error, and the exit code it means.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Workbook(#[from] crate::workbook::WorkbookError),
    #[error(transparent)]
    Vt(#[from] crate::vt::VtError),
    #[error(transparent)]
    Email(#[from] crate::email::EmailError),
    #[error("{0} is not available yet in this version of ioc-tracker")]
    NotAvailable(&'static str),
    #[error("{0}")]
    Usage(String),
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl AppError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            AppError::Email(_) => ExitCode::Partial,
            _ => ExitCode::Usage,
        }
    }
}

/// Run the parsed command line.
pub async fn dispatch(cli: Cli, out: &Output) -> Result<ExitCode, AppError> {
    let settings = config::load(&cli)?;
    if cli.global.show_settings {
        out.result_json(&settings);
        return Ok(ExitCode::Ok);
    }
    run_command(cli, settings, out).await
}

async fn run_command(cli: Cli, settings: Settings, out: &Output) -> Result<ExitCode, AppError> {
    match cli.command {
        Command::Run(args) => run::run(&settings, &args, out).await,
        Command::Check(args) => check::check(&settings, &args, out).await,
        Command::Validate(args) => validate::validate(&settings, &args, out).await,
        Command::Demo(args) => demo::demo(&settings, &args, out).await,
        Command::TestEmail(args) => test_email::test_email(&settings, &args, out).await,
        Command::Init(args) => init::init(&args, out),
        Command::Completions(args) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(args.shell, &mut cmd, "ioc-tracker", &mut buf);
            out.result_bytes(&buf);
            Ok(ExitCode::Ok)
        }
        Command::Simulate(args) => simulate::simulate(&args, out).await,
    }
}
