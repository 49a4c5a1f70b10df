//! `ioc-tracker simulate` (hidden). OWNER: VirusTotal helper.

use super::{AppError, ExitCode};
use crate::cli::SimulateArgs;
use crate::output::Output;

pub async fn simulate(_args: &SimulateArgs, _out: &Output) -> Result<ExitCode, AppError> {
    Err(AppError::NotAvailable("`simulate`"))
}
