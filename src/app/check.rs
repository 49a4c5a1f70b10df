//! `ioc-tracker check`. OWNER: VirusTotal helper.

use super::{AppError, ExitCode};
use crate::cli::CheckArgs;
use crate::config::Settings;
use crate::output::Output;

pub async fn check(
    _settings: &Settings,
    _args: &CheckArgs,
    _out: &Output,
) -> Result<ExitCode, AppError> {
    Err(AppError::NotAvailable("`check`"))
}
