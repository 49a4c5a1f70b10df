//! VirusTotal API v3: the client, the per-key limiter and quota, the polling schedule, the
//! scheduler that looks up many IOCs at the rate-limit bound, and the built-in simulator.
//!
//! OWNER: VirusTotal helper. The types in this file are the shared contract with `rules`,
//! `report` and `app`; change them only together with the integrator.

pub mod client;
pub mod keys;
pub mod lookup;
pub mod models;
pub mod poll;
pub mod progress;
pub mod sim;

pub use client::{ApiError, Client};
pub use keys::{KeyPool, Limits};
pub use lookup::{LookupOptions, LookupProgress, LookupRun, ProgressFn, lookup_all};

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ioc::{Ioc, IocKind};

/// One engine's entry of `last_analysis_results` / analysis `results`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineResult {
    /// "malicious", "suspicious", "undetected", "harmless", "timeout", "type-unsupported",
    /// "failure", "confirmed-timeout"
    pub category: String,
    /// the detection name, when the engine gave one
    pub result: Option<String>,
}

/// Engine name → its result, as VirusTotal returned them.
pub type EngineResults = BTreeMap<String, EngineResult>;

/// How a lookup ended. Each variant has its own note; `NotFound` is never shown as clean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum LookupStatus {
    /// Re-analysed, the analysis completed: a fresh score.
    Fresh,
    /// Object read without re-analysis (`reanalyse = false`, or younger than `max_age`).
    Current,
    /// Re-analysis did not finish within `poll_timeout` (or finished without stats): the
    /// object's last known score.
    Stale,
    /// 404 NotFoundError: score 0.
    NotFound,
    /// Gave up on this IOC after retries: the error, in words.
    Failed(String),
    /// No usable key left (quota, rate limits, bad keys).
    NoQuota,
    /// The run was interrupted before this IOC was looked up.
    Interrupted,
}

/// The result of looking up one IOC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: LookupStatus,
    /// `malicious` count; None when none could be had (Failed, NoQuota, Interrupted).
    pub score: Option<u32>,
    /// Engine verdicts of the analysis (or of the object when stale / current).
    pub engines: EngineResults,
    /// When VirusTotal analysed it (analysis date or `last_analysis_date`).
    pub analysed_at: Option<DateTime<Utc>>,
    /// Requests this IOC cost.
    pub requests: u32,
}

/// The VirusTotal GUI link of an IOC: `https://www.virustotal.com/gui/<kind>/<id>`.
pub fn gui_link(ioc: &Ioc) -> String {
    let (kind, id) = match ioc.kind() {
        IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256 => ("file", ioc.value().to_string()),
        IocKind::Domain => ("domain", ioc.value().to_string()),
        IocKind::Ip => ("ip-address", ioc.value().to_string()),
        IocKind::Url => ("url", url_id_sha256(ioc.value())),
    };
    format!("https://www.virustotal.com/gui/{kind}/{id}")
}

/// VirusTotal's canonical URL identifier: the SHA-256 of the URL, hex.
pub fn url_id_sha256(url: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(url.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The identifier used in API paths for a URL: unpadded URL-safe base64 of the URL.
pub fn url_id_base64(url: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url.as_bytes())
}

/// The API path of an IOC's object: `files/{hash}`, `urls/{id}`, `domains/{d}`, `ip_addresses/{ip}`.
pub fn object_path(ioc: &Ioc) -> String {
    match ioc.kind() {
        IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256 => format!("files/{}", ioc.value()),
        IocKind::Domain => format!("domains/{}", ioc.value()),
        IocKind::Ip => format!("ip_addresses/{}", ioc.value()),
        IocKind::Url => format!("urls/{}", url_id_base64(ioc.value())),
    }
}

/// Errors of the VirusTotal layer that stop a command (per-IOC failures are `LookupStatus::Failed`).
#[derive(Debug, thiserror::Error)]
pub enum VtError {
    #[error("{0}")]
    Setup(String),
    /// No API key configured.
    #[error(
        "no VirusTotal API key: set IOC_TRACKER_VT_KEYS (comma-separated) or [virustotal] api_keys in the config file"
    )]
    NoKeys,
    /// The simulator could not start (port in use, bad scenario file).
    #[error("simulator: {0}")]
    Simulator(String),
}

/// The note that explains a lookup's status, in words (the Notes cell, `check`'s note column).
/// `Fresh` has none.
pub fn status_note(status: &LookupStatus, vt: &crate::config::VtSettings) -> String {
    match status {
        LookupStatus::Fresh => String::new(),
        LookupStatus::Current => "last analysis (not re-analysed)".into(),
        LookupStatus::Stale => {
            let t = vt.poll_timeout;
            let within = if t.subsec_nanos() == 0 {
                format!("{} s", t.as_secs())
            } else {
                humantime::format_duration(t).to_string()
            };
            format!("re-analysis not finished within {within}; last known score")
        }
        LookupStatus::NotFound => "not found in VirusTotal".into(),
        LookupStatus::Failed(e) => format!("not checked: {e}"),
        LookupStatus::NoQuota => "not checked: no API quota left".into(),
        LookupStatus::Interrupted => "not checked: interrupted".into(),
    }
}
