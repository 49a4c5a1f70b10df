//! `ioc-tracker init`. OWNER: foundation helper.

use super::{AppError, ExitCode};
use crate::cli::InitArgs;
use crate::output::Output;

pub fn init(_args: &InitArgs, _out: &Output) -> Result<ExitCode, AppError> {
    Err(AppError::NotAvailable("`init`"))
}
