//! The email. OWNER: email helper.

/// Why the email could not be composed or sent.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("{0}")]
    Other(String),
}
