//! `ioc-tracker test-email`. OWNER: email helper.

use super::{AppError, ExitCode};
use crate::cli::TestEmailArgs;
use crate::config::Settings;
use crate::output::Output;

pub async fn test_email(
    _settings: &Settings,
    _args: &TestEmailArgs,
    _out: &Output,
) -> Result<ExitCode, AppError> {
    Err(AppError::NotAvailable("`test-email`"))
}
