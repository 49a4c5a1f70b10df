//! `ioc-tracker validate`. OWNER: workbook helper.

use super::{AppError, ExitCode};
use crate::cli::ValidateArgs;
use crate::config::Settings;
use crate::output::Output;

pub fn validate(
    _settings: &Settings,
    _args: &ValidateArgs,
    _out: &Output,
) -> Result<ExitCode, AppError> {
    Err(AppError::NotAvailable("`validate`"))
}
