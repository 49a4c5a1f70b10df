//! Settings: the TOML file, environment variables and flags, merged flag > env > file > default
//! into one resolved [`Settings`] that the rest of the program reads. No other module reads
//! the environment or the config file.
//!
//! OWNER: foundation helper (loading, merging, env names, `--show-settings`, `init`).
//! The resolved structs below are the shared contract: other modules only read them.

pub mod env;
mod file;
mod load;
mod secret;

pub use load::load_from;

/// `config.example.toml`: every key, commented out, with its default. `init` writes it.
pub const EXAMPLE_CONFIG: &str = include_str!("../../config.example.toml");
pub use secret::Secret;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// Everything a command needs, resolved. Built by `config::load` (foundation helper).
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    pub virustotal: VtSettings,
    pub network: NetworkSettings,
    pub rules: RulesSettings,
    pub workbook: WorkbookSettings,
    pub report: ReportSettings,
    pub email: EmailSettings,
}

/// `[virustotal]`
#[derive(Debug, Clone, Serialize)]
pub struct VtSettings {
    /// default `https://www.virustotal.com/api/v3`
    pub base_url: String,
    /// `IOC_TRACKER_VT_KEYS` (comma-separated) or `api_keys`.
    pub api_keys: Vec<Secret>,
    /// per key, default 4
    pub requests_per_minute: u32,
    /// per key, default 500
    pub daily_quota: u32,
    /// default true; `--no-reanalyse` sets false
    pub reanalyse: bool,
    /// off by default; when set, GET the object first and re-analyse only if older
    #[serde(with = "duration_opt")]
    pub max_age: Option<Duration>,
    /// default 100s
    #[serde(with = "duration")]
    pub poll_timeout: Duration,
    /// default 30s
    #[serde(with = "duration")]
    pub rate_limit_wait: Duration,
    /// default 3
    pub max_retries: u32,
    /// default 30s
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// default false
    pub submit_unknown_urls: bool,
    /// Divides every built-in delay of the polling schedule and the retry backoff (default 1.0).
    /// For time-compressed simulators and benchmarks only.
    pub time_scale: f64,
}

/// `[network]`
#[derive(Debug, Clone, Serialize, Default)]
pub struct NetworkSettings {
    pub proxy: Option<String>,
    pub ca_file: Option<PathBuf>,
}

/// One EDR engine group: a display name and the engine names it has had (first present wins).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EngineGroup {
    pub name: String,
    pub aliases: Vec<String>,
}

/// `[rules]`
#[derive(Debug, Clone, Serialize)]
pub struct RulesSettings {
    /// default 5; `--threshold N`
    pub threshold: u32,
    /// default FireEye = ["FireEye", "Trellix (FireEye)", "Trellix (HX)"],
    /// McAfee = ["McAfee", "TrellixENS", "Trellix (ENS)", "McAfee Scanner"]
    pub edr_groups: Vec<EngineGroup>,
    /// `--realert`: flag rows whose Status is already Malicious again
    pub realert: bool,
}

/// Header names of the tracking sheet, `[workbook.columns]`.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnNames {
    pub date: String,
    pub analyst: String,
    pub malware: String,
    pub ioc_type: String,
    pub ioc_value: String,
    pub score: String,
    pub status: String,
    pub last_checked: String,
    pub notes: String,
}

impl Default for ColumnNames {
    fn default() -> Self {
        ColumnNames {
            date: "Date".into(),
            analyst: "Name of Analyst".into(),
            malware: "Malware Name".into(),
            ioc_type: "IOC".into(),
            ioc_value: "IOC Value".into(),
            score: "Current Score".into(),
            status: "Status".into(),
            last_checked: "Last Checked".into(),
            notes: "Notes".into(),
        }
    }
}

/// `[workbook]`
#[derive(Debug, Clone, Serialize)]
pub struct WorkbookSettings {
    /// default `./ioc_tracking.xlsx`
    pub path: PathBuf,
    /// default: the first sheet that has the header
    pub sheet: Option<String>,
    pub columns: ColumnNames,
    /// keep the previous version beside the workbook (default true)
    pub backup: bool,
}

/// `[report]`
#[derive(Debug, Clone, Serialize, Default)]
pub struct ReportSettings {
    /// default `malicious_iocs.xlsx` beside the workbook
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpAuth {
    Auto,
    Plain,
    Login,
    Xoauth2,
}

/// `[email]`
#[derive(Debug, Clone, Serialize)]
pub struct EmailSettings {
    /// default: true when smtp_host is set
    pub enabled: bool,
    pub smtp_host: Option<String>,
    /// default by security: 587 starttls, 465 tls, 25 none
    pub smtp_port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    /// name of the env var holding the password, default `IOC_TRACKER_SMTP_PASSWORD`
    pub password_env: String,
    /// resolved from `password_env` or the file's `password`
    pub password: Option<Secret>,
    pub auth: SmtpAuth,
    /// resolved from `IOC_TRACKER_SMTP_OAUTH_TOKEN`
    pub oauth_token: Option<Secret>,
    pub ca_file: Option<PathBuf>,
    #[serde(with = "duration")]
    pub timeout: Duration,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// default "IOC tracking: {flagged} IOCs flagged malicious ({date})"
    pub subject: String,
    pub send_when_clean: bool,
    /// write the message as .eml into this folder instead of sending
    pub eml_dir: Option<PathBuf>,
}

/// Serialise durations the way the config file spells them ("100s", "250ms").
pub(crate) mod duration {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

pub(crate) mod duration_opt {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }
}

/// Why the settings could not be loaded. Each message names the file, key or variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}", path = path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}", path = path.display())]
    Parse { path: PathBuf, message: String },
    /// A key no table allows; `hint` is "; did you mean `…`?" or empty.
    #[error("unknown key `{key}` in {path} (known keys: {known}){hint}", path = path.display())]
    UnknownKey {
        key: String,
        path: PathBuf,
        known: String,
        hint: String,
    },
    /// A config file named by `--config` or `IOC_TRACKER_CONFIG` that does not exist.
    #[error(
        "config file {path} (given by {given_by}) does not exist; fix the path or create it with `ioc-tracker init`",
        path = path.display()
    )]
    NotFound {
        path: PathBuf,
        given_by: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
}

impl Settings {
    /// The defaults of every key, with no file, no environment and no flags.
    pub fn defaults() -> Settings {
        Settings {
            config_file: None,
            virustotal: VtSettings {
                base_url: "https://www.virustotal.com/api/v3".into(),
                api_keys: Vec::new(),
                requests_per_minute: 4,
                daily_quota: 500,
                reanalyse: true,
                max_age: None,
                poll_timeout: Duration::from_secs(100),
                rate_limit_wait: Duration::from_secs(30),
                max_retries: 3,
                request_timeout: Duration::from_secs(30),
                submit_unknown_urls: false,
                time_scale: 1.0,
            },
            network: NetworkSettings::default(),
            rules: RulesSettings {
                threshold: 5,
                edr_groups: vec![
                    EngineGroup {
                        name: "FireEye".into(),
                        aliases: vec![
                            "FireEye".into(),
                            "Trellix (FireEye)".into(),
                            "Trellix (HX)".into(),
                        ],
                    },
                    EngineGroup {
                        name: "McAfee".into(),
                        aliases: vec![
                            "McAfee".into(),
                            "TrellixENS".into(),
                            "Trellix (ENS)".into(),
                            "McAfee Scanner".into(),
                        ],
                    },
                ],
                realert: false,
            },
            workbook: WorkbookSettings {
                path: PathBuf::from("ioc_tracking.xlsx"),
                sheet: None,
                columns: ColumnNames::default(),
                backup: true,
            },
            report: ReportSettings::default(),
            email: EmailSettings {
                enabled: false,
                smtp_host: None,
                smtp_port: 587,
                security: SmtpSecurity::Starttls,
                username: None,
                password_env: "IOC_TRACKER_SMTP_PASSWORD".into(),
                password: None,
                auth: SmtpAuth::Auto,
                oauth_token: None,
                ca_file: None,
                timeout: Duration::from_secs(30),
                from: None,
                to: Vec::new(),
                cc: Vec::new(),
                subject: "IOC tracking: {flagged} IOCs flagged malicious ({date})".into(),
                send_when_clean: false,
                eml_dir: None,
            },
        }
    }
}

/// Load the settings for this command line: the config file, the process environment and the
/// flags, merged flag > env > file > default (see [`load_from`]).
pub fn load(cli: &crate::cli::Cli) -> Result<Settings, ConfigError> {
    load_from(cli, &env::process)
}

#[cfg(test)]
mod example_tests;
