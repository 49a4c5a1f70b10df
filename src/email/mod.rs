//! The email: the flagged IOCs of a run, as an HTML + text message with the report workbook
//! attached, sent over SMTP or written to an .eml file. Email is the last step of a run, so
//! the workbook and the report are already written when anything here fails.
//!
//! - [`compose`] (pure): `Report` + `EmailSettings` (+ the report bytes) → `lettre::Message`.
//! - [`send`] (async I/O): the SMTP transport with TLS, authentication and retries;
//!   [`write_eml`] writes the message to a file instead.
//!
//! It does not decide whether email is enabled or skipped (`--no-email`): `app` does, with
//! [`should_send`] for the content side. The SMTP password and OAuth token are read only by
//! `send` (where they go on the wire) and never appear in an error, a log line or a file.

mod compose;
mod send;

use std::path::PathBuf;

pub use compose::{compose, defang_raw, escape_html, should_send, subject, test_message};
pub use send::{
    RetryPolicy, SendOutcome, deliver, eml_path_in, send, send_with, server_name, transport,
    verify, write_eml,
};

/// The report workbook to attach.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// File name shown in the mail client (`malicious_iocs.xlsx`).
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// Why the email could not be composed, sent or written. Messages never contain the password or
/// the OAuth token; each names the setting or server involved and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// A required `[email]` setting is missing.
    #[error("email settings incomplete: [email] {key} is not set; {hint}")]
    Incomplete {
        key: &'static str,
        hint: &'static str,
    },

    /// An address in from / to / cc does not parse.
    #[error(
        "invalid address in [email] {key}: {value:?} ({reason}); write it as name@example.com or \"Name <name@example.com>\""
    )]
    Address {
        key: &'static str,
        value: String,
        reason: String,
    },

    /// The message could not be built.
    #[error("cannot build the email: {0}")]
    Build(String),

    /// `ca_file` cannot be read or holds no certificate.
    #[error(
        "cannot use [email] ca_file {path}: {reason}; point it at a PEM file with the CA certificate"
    )]
    CaFile { path: PathBuf, reason: String },

    /// Credentials are configured half-way (a username without password, xoauth2 without token).
    #[error("{0}")]
    Credentials(String),

    /// The server could not be reached (refused, timed out, dropped) after every try.
    #[error(
        "cannot reach smtp server {server} ({}): {reason}; check [email] smtp_host, smtp_port and security, and that the server is up",
        tries(*.attempts)
    )]
    Connect {
        server: String,
        attempts: u32,
        reason: String,
    },

    /// TLS failed (certificate, wrong port for the security mode).
    #[error(
        "tls with smtp server {server} failed: {reason}; check [email] security (starttls on 587, tls on 465) and ca_file for a private CA"
    )]
    Tls { server: String, reason: String },

    /// The server rejected the login (535 and friends).
    #[error(
        "smtp server {server} rejected the login for {user:?}: {reply}; check [email] username and the password in ${password_env} (or the OAuth token for auth = \"xoauth2\")"
    )]
    Auth {
        server: String,
        user: String,
        password_env: String,
        reply: String,
    },

    /// The server refused the message for good (5xx).
    #[error(
        "smtp server {server} refused the message: {reply}; check [email] from, to and cc, and what the server allows"
    )]
    Permanent { server: String, reply: String },

    /// Temporary failures (4xx) on every try.
    #[error(
        "smtp server {server} failed temporarily ({}), last: {reply}; try again later",
        tries(*.attempts)
    )]
    Temporary {
        server: String,
        attempts: u32,
        reply: String,
    },

    /// The client and the server do not agree (no STARTTLS offered, no common AUTH mechanism…).
    #[error(
        "smtp with {server} failed: {reason}; check [email] security and auth against what the server offers"
    )]
    Protocol { server: String, reason: String },

    /// Writing the .eml file failed.
    #[error("cannot write the email to {path}: {source}")]
    WriteEml {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn tries(n: u32) -> String {
    if n == 1 {
        "1 try".into()
    } else {
        format!("{n} tries")
    }
}

impl EmailError {
    /// A failure that trying again later may fix (4xx replies, connection trouble).
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            EmailError::Temporary { .. } | EmailError::Connect { .. }
        )
    }

    /// The server said no for good (5xx, bad credentials): do not retry.
    pub fn is_permanent(&self) -> bool {
        matches!(self, EmailError::Permanent { .. } | EmailError::Auth { .. })
    }
}

/// Check, before any request is spent, that the settings can send: host, sender, recipients,
/// TLS roots and credentials. Call inside a tokio runtime. Connects to nothing.
pub fn check_settings(settings: &crate::config::EmailSettings) -> Result<(), EmailError> {
    test_message(settings)?;
    transport(settings).map(drop)
}
