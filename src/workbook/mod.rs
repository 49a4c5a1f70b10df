//! The workbook layer. OWNER: workbook helper.

/// Why a workbook could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WorkbookError {
    #[error("{0}")]
    Other(String),
}
