//! Finding the config file and merging it with the environment and the flags into [`Settings`]:
//! for every key, flag > environment > file > default, each layer an `Option` (a flag or
//! variable that was not given is `None`, never "equal to the default"). Then the values are
//! range-checked, with messages that name the key and where its value came from.
//!
//! The environment is a parameter (`&dyn Fn(&str) -> Option<String>`), so tests never touch the
//! process environment. Nothing here contacts the network or checks that files exist (other than
//! the config file itself).

use std::path::{Path, PathBuf};

use super::file::{self, FileConfig};
use super::{ConfigError, EngineGroup, Secret, Settings, SmtpSecurity, env};
use crate::cli::{Cli, Command};

/// A way to read an environment variable (`env::process` in the program, a map in tests).
pub type EnvFn<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Where a value came from, for messages.
#[derive(Debug, Clone)]
enum Origin {
    Flag(&'static str),
    Env(&'static str),
    File(PathBuf),
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "from {flag}"),
            Origin::Env(var) => write!(f, "from ${var}"),
            Origin::File(path) => write!(f, "in {}", path.display()),
            Origin::Default => f.write_str("the default"),
        }
    }
}

/// The settings the command-line flags give (only the ones the user typed).
#[derive(Debug, Default)]
struct Flags {
    workbook: Option<PathBuf>,
    report: Option<PathBuf>,
    threshold: Option<u32>,
    reanalyse: Option<bool>,
    realert: Option<bool>,
    email_enabled: Option<bool>,
}

impl Flags {
    fn from_cli(cli: &Cli) -> Flags {
        match &cli.command {
            Command::Run(a) => Flags {
                workbook: a.workbook.clone(),
                report: a.report.clone(),
                threshold: a.threshold,
                reanalyse: a.no_reanalyse.then_some(false),
                realert: a.realert.then_some(true),
                email_enabled: a.no_email.then_some(false),
            },
            Command::Validate(a) => Flags {
                workbook: a.workbook.clone(),
                ..Flags::default()
            },
            Command::Check(a) => Flags {
                reanalyse: a.no_reanalyse.then_some(false),
                ..Flags::default()
            },
            _ => Flags::default(),
        }
    }
}

/// The first value given, with its origin; else the default.
fn pick<T>(candidates: Vec<(Option<T>, Origin)>, default: T) -> (T, Origin) {
    candidates
        .into_iter()
        .find_map(|(v, o)| v.map(|v| (v, o)))
        .unwrap_or((default, Origin::Default))
}

/// Which config file to read: `--config`, else `$IOC_TRACKER_CONFIG` (both must exist), else
/// `./ioc-tracker.toml`, else `<user config dir>/ioc-tracker/config.toml` (read if present).
fn locate(
    cli: &Cli,
    env: EnvFn,
    user_config_dir: Option<&Path>,
) -> Result<Option<PathBuf>, ConfigError> {
    let explicit = cli
        .global
        .config
        .clone()
        .map(|p| (p, "--config"))
        .or_else(|| env(env::CONFIG).map(|p| (PathBuf::from(p), env::CONFIG)));
    if let Some((path, given_by)) = explicit {
        if !path.exists() {
            return Err(ConfigError::NotFound { path, given_by });
        }
        return Ok(Some(path));
    }
    let local = PathBuf::from("./ioc-tracker.toml");
    if local.is_file() {
        return Ok(Some(local));
    }
    Ok(user_config_dir
        .map(|d| d.join("ioc-tracker").join("config.toml"))
        .filter(|p| p.is_file()))
}

/// Load the settings for `cli`, reading variables through `env`. Looks for the user config file
/// in `dirs::config_dir()`.
pub fn load_from(cli: &Cli, env: EnvFn) -> Result<Settings, ConfigError> {
    load_with_dirs(cli, env, dirs::config_dir().as_deref())
}

pub(super) fn load_with_dirs(
    cli: &Cli,
    env: EnvFn,
    user_config_dir: Option<&Path>,
) -> Result<Settings, ConfigError> {
    // `init` and `completions` read no settings: a broken or missing config file (the very
    // thing `init` is run to fix) must not stop them.
    if matches!(cli.command, Command::Init(_) | Command::Completions(_)) {
        return Ok(Settings::defaults());
    }
    let path = locate(cli, env, user_config_dir)?;
    let file = match &path {
        Some(p) => {
            tracing::info!("reading settings from {}", p.display());
            file::read(p)?
        }
        None => {
            tracing::info!("no config file; using defaults, environment and flags");
            FileConfig::default()
        }
    };
    let settings = merge(path, file, &Flags::from_cli(cli), env)?;
    Ok(settings)
}

/// Parse `$var` as a number, naming the variable when it is not one.
fn env_number<T: std::str::FromStr>(
    env: EnvFn,
    var: &'static str,
) -> Result<Option<T>, ConfigError> {
    match env(var) {
        None => Ok(None),
        Some(text) => text.trim().parse().map(Some).map_err(|_| {
            ConfigError::Invalid(format!("${var} = \"{text}\" is not a whole number"))
        }),
    }
}

/// API keys from a list, checked one by one without ever printing one.
fn keys(raw: Vec<String>, origin: &Origin) -> Result<Vec<Secret>, ConfigError> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, key) in raw.iter().enumerate() {
        let key = key.trim();
        if key.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "virustotal API key {} ({origin}) is empty",
                i + 1
            )));
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ConfigError::Invalid(format!(
                "virustotal API key {} ({origin}) contains a space or control character",
                i + 1
            )));
        }
        if !out.iter().any(|k: &Secret| k.expose() == key) {
            out.push(Secret::new(key));
        }
    }
    Ok(out)
}

fn merge(
    path: Option<PathBuf>,
    f: FileConfig,
    flags: &Flags,
    env: EnvFn,
) -> Result<Settings, ConfigError> {
    let d = Settings::defaults();
    let file = || match &path {
        Some(p) => Origin::File(p.clone()),
        None => Origin::Default,
    };
    let invalid = |key: &str, origin: &Origin, why: &str| {
        ConfigError::Invalid(format!("{key} ({origin}) {why}"))
    };

    // [virustotal]
    let vt = f.virustotal;
    let (base_url, base_origin) = pick(
        vec![
            (env(env::VT_BASE_URL), Origin::Env(env::VT_BASE_URL)),
            (vt.base_url, file()),
        ],
        d.virustotal.base_url.clone(),
    );
    match url::Url::parse(&base_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => {
            return Err(invalid(
                "virustotal.base_url",
                &base_origin,
                &format!("\"{base_url}\" is not an http:// or https:// URL"),
            ));
        }
    }
    let base_url = base_url.trim_end_matches('/').to_string();
    let api_keys = match env(env::VT_KEYS) {
        Some(text) => {
            let origin = Origin::Env(env::VT_KEYS);
            let list: Vec<String> = text
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(String::from)
                .collect();
            if list.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "${} is set but holds no key (write keys separated by commas)",
                    env::VT_KEYS
                )));
            }
            keys(list, &origin)?
        }
        None => keys(vt.api_keys.unwrap_or_default(), &file())?,
    };
    let (requests_per_minute, rpm_origin) = pick(
        vec![(vt.requests_per_minute, file())],
        d.virustotal.requests_per_minute,
    );
    if requests_per_minute < 1 {
        return Err(invalid(
            "virustotal.requests_per_minute",
            &rpm_origin,
            "must be at least 1",
        ));
    }
    let (daily_quota, quota_origin) =
        pick(vec![(vt.daily_quota, file())], d.virustotal.daily_quota);
    if daily_quota < 1 {
        return Err(invalid(
            "virustotal.daily_quota",
            &quota_origin,
            "must be at least 1",
        ));
    }
    let (time_scale, scale_origin) = pick(vec![(vt.time_scale, file())], d.virustotal.time_scale);
    if !(time_scale.is_finite() && time_scale > 0.0) {
        return Err(invalid(
            "virustotal.time_scale",
            &scale_origin,
            "must be a number greater than 0 (1.0 is real time)",
        ));
    }
    let nonzero = |key: &str, v: Option<std::time::Duration>, default| {
        let (value, origin) = pick(vec![(v, file())], default);
        if value.is_zero() {
            Err(invalid(key, &origin, "must be longer than 0s"))
        } else {
            Ok(value)
        }
    };
    let virustotal = super::VtSettings {
        base_url,
        api_keys,
        requests_per_minute,
        daily_quota,
        reanalyse: pick(
            vec![
                (flags.reanalyse, Origin::Flag("--no-reanalyse")),
                (vt.reanalyse, file()),
            ],
            d.virustotal.reanalyse,
        )
        .0,
        max_age: vt.max_age.or(d.virustotal.max_age),
        poll_timeout: nonzero(
            "virustotal.poll_timeout",
            vt.poll_timeout,
            d.virustotal.poll_timeout,
        )?,
        rate_limit_wait: vt.rate_limit_wait.unwrap_or(d.virustotal.rate_limit_wait),
        max_retries: vt.max_retries.unwrap_or(d.virustotal.max_retries),
        request_timeout: nonzero(
            "virustotal.request_timeout",
            vt.request_timeout,
            d.virustotal.request_timeout,
        )?,
        submit_unknown_urls: vt
            .submit_unknown_urls
            .unwrap_or(d.virustotal.submit_unknown_urls),
        time_scale,
    };

    // [network]
    if let Some(proxy) = &f.network.proxy
        && url::Url::parse(proxy).is_err()
    {
        return Err(invalid(
            "network.proxy",
            &file(),
            &format!("\"{proxy}\" is not a URL (write it like \"http://proxy.example:3128\")"),
        ));
    }
    let network = super::NetworkSettings {
        proxy: f.network.proxy,
        ca_file: f.network.ca_file,
    };

    // [rules]
    let (threshold, threshold_origin) = pick(
        vec![
            (flags.threshold, Origin::Flag("--threshold")),
            (
                env_number(env, env::THRESHOLD)?,
                Origin::Env(env::THRESHOLD),
            ),
            (f.rules.threshold, file()),
        ],
        d.rules.threshold,
    );
    if !(1..=100).contains(&threshold) {
        return Err(invalid(
            "rules.threshold",
            &threshold_origin,
            &format!(
                "is {threshold}; it must be between 1 and 100 (the number of engines that must say malicious)"
            ),
        ));
    }
    let edr_groups = f.rules.edr.unwrap_or(d.rules.edr_groups);
    check_groups(&edr_groups, &file())?;
    let rules = super::RulesSettings {
        threshold,
        edr_groups,
        realert: pick(
            vec![
                (flags.realert, Origin::Flag("--realert")),
                (f.rules.realert, file()),
            ],
            d.rules.realert,
        )
        .0,
    };

    // [workbook]
    let c = f.workbook.columns;
    let dc = d.workbook.columns;
    let columns = super::ColumnNames {
        date: c.date.unwrap_or(dc.date),
        analyst: c.analyst.unwrap_or(dc.analyst),
        malware: c.malware.unwrap_or(dc.malware),
        ioc_type: c.ioc_type.unwrap_or(dc.ioc_type),
        ioc_value: c.ioc_value.unwrap_or(dc.ioc_value),
        score: c.score.unwrap_or(dc.score),
        status: c.status.unwrap_or(dc.status),
        last_checked: c.last_checked.unwrap_or(dc.last_checked),
        notes: c.notes.unwrap_or(dc.notes),
    };
    check_columns(&columns, &file())?;
    let workbook = super::WorkbookSettings {
        path: pick(
            vec![
                (flags.workbook.clone(), Origin::Flag("--workbook")),
                (
                    env(env::WORKBOOK).map(PathBuf::from),
                    Origin::Env(env::WORKBOOK),
                ),
                (f.workbook.path, file()),
            ],
            d.workbook.path,
        )
        .0,
        sheet: f.workbook.sheet.filter(|s| !s.trim().is_empty()),
        columns,
        backup: f.workbook.backup.unwrap_or(d.workbook.backup),
    };

    // [report]
    let report = super::ReportSettings {
        path: flags
            .report
            .clone()
            .or_else(|| env(env::REPORT).map(PathBuf::from))
            .or(f.report.path),
    };

    // [email]
    let e = f.email;
    let de = d.email;
    let smtp_host = e.smtp_host.filter(|h| !h.trim().is_empty());
    let security = e.security.unwrap_or(de.security);
    let (smtp_port, port_origin) = pick(
        vec![(e.smtp_port, file())],
        match security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        },
    );
    if smtp_port == 0 {
        return Err(invalid(
            "email.smtp_port",
            &port_origin,
            "must be between 1 and 65535",
        ));
    }
    let password_env = e.password_env.unwrap_or(de.password_env);
    if password_env.is_empty()
        || !password_env
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(invalid(
            "email.password_env",
            &file(),
            &format!("\"{password_env}\" is not an environment variable name"),
        ));
    }
    let email = super::EmailSettings {
        enabled: pick(
            vec![
                (flags.email_enabled, Origin::Flag("--no-email")),
                (e.enabled, file()),
            ],
            smtp_host.is_some(),
        )
        .0,
        smtp_host,
        smtp_port,
        security,
        username: e.username,
        password: env(&password_env).or(e.password).map(Secret::hidden),
        password_env,
        auth: e.auth.unwrap_or(de.auth),
        oauth_token: env(env::SMTP_OAUTH_TOKEN)
            .or(e.oauth_token)
            .map(Secret::hidden),
        ca_file: e.ca_file,
        timeout: nonzero("email.timeout", e.timeout, de.timeout)?,
        from: e.from,
        to: e.to.unwrap_or(de.to),
        cc: e.cc.unwrap_or(de.cc),
        subject: e.subject.unwrap_or(de.subject),
        send_when_clean: e.send_when_clean.unwrap_or(de.send_when_clean),
        eml_dir: e.eml_dir,
    };

    Ok(Settings {
        config_file: path,
        virustotal,
        network,
        rules,
        workbook,
        report,
        email,
    })
}

fn check_groups(groups: &[EngineGroup], origin: &Origin) -> Result<(), ConfigError> {
    for (i, g) in groups.iter().enumerate() {
        if groups[..i]
            .iter()
            .any(|o| o.name.eq_ignore_ascii_case(&g.name))
        {
            return Err(ConfigError::Invalid(format!(
                "rules.edr ({origin}) names the group \"{}\" twice",
                g.name
            )));
        }
    }
    Ok(())
}

/// Header names must be non-empty and distinct (compared the way headers are matched:
/// ignoring case, spaces, `-` and `_`).
fn check_columns(c: &super::ColumnNames, origin: &Origin) -> Result<(), ConfigError> {
    let all = [
        ("date", &c.date),
        ("analyst", &c.analyst),
        ("malware", &c.malware),
        ("ioc_type", &c.ioc_type),
        ("ioc_value", &c.ioc_value),
        ("score", &c.score),
        ("status", &c.status),
        ("last_checked", &c.last_checked),
        ("notes", &c.notes),
    ];
    let key = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect()
    };
    for (i, (name, header)) in all.iter().enumerate() {
        if key(header).is_empty() {
            return Err(ConfigError::Invalid(format!(
                "workbook.columns.{name} ({origin}) is empty; give the header text"
            )));
        }
        if let Some((other, _)) = all[..i].iter().find(|(_, h)| key(h) == key(header)) {
            return Err(ConfigError::Invalid(format!(
                "workbook.columns.{name} and workbook.columns.{other} ({origin}) are the same header \"{header}\""
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
