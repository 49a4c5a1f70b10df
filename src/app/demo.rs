//! `ioc-tracker demo`. OWNER: integrator.

use super::{AppError, ExitCode};
use crate::cli::DemoArgs;
use crate::config::Settings;
use crate::output::Output;

pub async fn demo(
    _settings: &Settings,
    _args: &DemoArgs,
    _out: &Output,
) -> Result<ExitCode, AppError> {
    Err(AppError::NotAvailable("`demo`"))
}
