//! `ioc-tracker run`: the main job. OWNER: integrator.

use super::{AppError, ExitCode};
use crate::cli::RunArgs;
use crate::config::Settings;
use crate::output::Output;

pub async fn run(
    _settings: &Settings,
    _args: &RunArgs,
    _out: &Output,
) -> Result<ExitCode, AppError> {
    Err(AppError::NotAvailable("`run`"))
}
