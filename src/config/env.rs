//! Every environment variable ioc-tracker reads, spelled once. Proxy variables (`HTTPS_PROXY`,
//! `NO_PROXY`, …) are read by reqwest itself and deliberately not repeated here.
//!
//! Only `config` (and `output` for `NO_COLOR` and the log filter) read the environment; the rest of
//! the program reads the resolved [`Settings`](super::Settings).

/// Path of the config file (explicit: it must exist).
pub const CONFIG: &str = "IOC_TRACKER_CONFIG";
/// VirusTotal API keys, comma-separated. Wins over `[virustotal] api_keys`.
pub const VT_KEYS: &str = "IOC_TRACKER_VT_KEYS";
/// VirusTotal base URL (tests and simulators). Wins over `[virustotal] base_url`.
pub const VT_BASE_URL: &str = "IOC_TRACKER_VT_BASE_URL";
/// The tracking workbook. Wins over `[workbook] path`.
pub const WORKBOOK: &str = "IOC_TRACKER_WORKBOOK";
/// The report workbook. Wins over `[report] path`.
pub const REPORT: &str = "IOC_TRACKER_REPORT";
/// Detection threshold. Wins over `[rules] threshold`.
pub const THRESHOLD: &str = "IOC_TRACKER_THRESHOLD";
/// Default name of the variable holding the SMTP password (`[email] password_env` renames it).
pub const SMTP_PASSWORD_DEFAULT: &str = "IOC_TRACKER_SMTP_PASSWORD";
/// OAuth2 access token for SMTP XOAUTH2. Wins over `[email] oauth_token`.
pub const SMTP_OAUTH_TOKEN: &str = "IOC_TRACKER_SMTP_OAUTH_TOKEN";
/// `tracing` filter directives (like `RUST_LOG`), overriding `-v`/`-q`.
pub const LOG: &str = "IOC_TRACKER_LOG";
/// Any non-empty value turns colour off (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";

/// Read a variable from the process environment. Unset, empty and non-Unicode values are `None`.
pub fn process(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `NO_COLOR` is set to something non-empty.
pub fn no_color() -> bool {
    std::env::var_os(NO_COLOR).is_some_and(|v| !v.is_empty())
}
