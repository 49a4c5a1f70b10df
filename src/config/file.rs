//! The config file: serde structs with one `Option` per key (absent = not set, so the merge
//! never mistakes "written with the default value" for "not written"), and the check that
//! names an unknown key with its full dotted path, the file, and the keys that are allowed.
//!
//! This module only reads and type-checks the file; merging with the environment and flags and
//! the range checks are in `load`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::{ConfigError, EngineGroup, SmtpAuth, SmtpSecurity};

/// The whole file. Every section is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct FileConfig {
    pub virustotal: VtFile,
    pub network: NetworkFile,
    pub rules: RulesFile,
    pub workbook: WorkbookFile,
    pub report: ReportFile,
    pub email: EmailFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct VtFile {
    pub base_url: Option<String>,
    pub api_keys: Option<Vec<String>>,
    pub requests_per_minute: Option<u32>,
    pub daily_quota: Option<u32>,
    pub reanalyse: Option<bool>,
    #[serde(deserialize_with = "duration")]
    pub max_age: Option<Duration>,
    #[serde(deserialize_with = "duration")]
    pub poll_timeout: Option<Duration>,
    #[serde(deserialize_with = "duration")]
    pub rate_limit_wait: Option<Duration>,
    pub max_retries: Option<u32>,
    #[serde(deserialize_with = "duration")]
    pub request_timeout: Option<Duration>,
    pub submit_unknown_urls: Option<bool>,
    pub time_scale: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct NetworkFile {
    pub proxy: Option<String>,
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RulesFile {
    pub threshold: Option<u32>,
    pub realert: Option<bool>,
    /// `[rules.edr]`: group name = [aliases], in file order. Replaces the default groups.
    #[serde(deserialize_with = "edr_groups")]
    pub edr: Option<Vec<EngineGroup>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct WorkbookFile {
    pub path: Option<PathBuf>,
    pub sheet: Option<String>,
    pub columns: ColumnsFile,
    pub backup: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ColumnsFile {
    pub date: Option<String>,
    pub analyst: Option<String>,
    pub malware: Option<String>,
    pub ioc_type: Option<String>,
    pub ioc_value: Option<String>,
    pub score: Option<String>,
    pub status: Option<String>,
    pub last_checked: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ReportFile {
    pub path: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct EmailFile {
    pub enabled: Option<bool>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    #[serde(deserialize_with = "security")]
    pub security: Option<SmtpSecurity>,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password: Option<String>,
    #[serde(deserialize_with = "auth")]
    pub auth: Option<SmtpAuth>,
    pub oauth_token: Option<String>,
    pub ca_file: Option<PathBuf>,
    #[serde(deserialize_with = "duration")]
    pub timeout: Option<Duration>,
    pub from: Option<String>,
    #[serde(deserialize_with = "one_or_many")]
    pub to: Option<Vec<String>>,
    #[serde(deserialize_with = "one_or_many")]
    pub cc: Option<Vec<String>>,
    pub subject: Option<String>,
    pub send_when_clean: Option<bool>,
    pub eml_dir: Option<PathBuf>,
}

/// The keys allowed in each table, for the unknown-key message. `[rules.edr]` takes any group
/// name. Kept in step with the structs above by the tests on `config.example.toml`.
pub(crate) const SCHEMA: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "virustotal",
            "network",
            "rules",
            "workbook",
            "report",
            "email",
        ],
    ),
    (
        "virustotal",
        &[
            "base_url",
            "api_keys",
            "requests_per_minute",
            "daily_quota",
            "reanalyse",
            "max_age",
            "poll_timeout",
            "rate_limit_wait",
            "max_retries",
            "request_timeout",
            "submit_unknown_urls",
            "time_scale",
        ],
    ),
    ("network", &["proxy", "ca_file"]),
    ("rules", &["threshold", "realert", "edr"]),
    ("workbook", &["path", "sheet", "columns", "backup"]),
    (
        "workbook.columns",
        &[
            "date",
            "analyst",
            "malware",
            "ioc_type",
            "ioc_value",
            "score",
            "status",
            "last_checked",
            "notes",
        ],
    ),
    ("report", &["path"]),
    (
        "email",
        &[
            "enabled",
            "smtp_host",
            "smtp_port",
            "security",
            "username",
            "password_env",
            "password",
            "auth",
            "oauth_token",
            "ca_file",
            "timeout",
            "from",
            "to",
            "cc",
            "subject",
            "send_when_clean",
            "eml_dir",
        ],
    ),
];

/// Tables whose keys are free (names chosen by the user).
const FREE_TABLES: &[&str] = &["rules.edr"];

/// Read and type-check the config file at `path`.
pub(crate) fn read(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut file = parse(&text, path)?;
    file.make_paths_relative_to(path.parent().unwrap_or(Path::new("")));
    Ok(file)
}

/// Parse config text; `path` is only used in messages.
pub(crate) fn parse(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
    let parse_error = |e: toml::de::Error| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    };
    let table: toml::Table = toml::from_str(text).map_err(parse_error)?;
    check_keys(&table, "", path)?;
    toml::from_str(text).map_err(parse_error)
}

/// Reject the first key that no table allows, naming it with its dotted path.
fn check_keys(table: &toml::Table, prefix: &str, path: &Path) -> Result<(), ConfigError> {
    if FREE_TABLES.contains(&prefix) {
        return Ok(());
    }
    let Some((_, allowed)) = SCHEMA.iter().find(|(name, _)| *name == prefix) else {
        return Ok(()); // a scalar key holding a table: serde reports the type error
    };
    let dotted = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    };
    for (key, value) in table {
        if !allowed.contains(&key.as_str()) {
            return Err(ConfigError::UnknownKey {
                key: dotted(key),
                path: path.to_path_buf(),
                hint: hint(key, prefix, allowed),
                known: allowed
                    .iter()
                    .map(|k| dotted(k))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if let toml::Value::Table(inner) = value {
            check_keys(inner, &dotted(key), path)?;
        }
    }
    Ok(())
}

/// "did you mean `virustotal.api_keys`?" for a near miss in the same table, or the table the
/// key belongs to when it is in the wrong one.
fn hint(key: &str, prefix: &str, allowed: &[&str]) -> String {
    let dotted = |p: &str, k: &str| {
        if p.is_empty() {
            k.to_string()
        } else {
            format!("{p}.{k}")
        }
    };
    let lower = key.to_ascii_lowercase().replace('-', "_");
    if let Some(best) = allowed
        .iter()
        .map(|k| (edit_distance(&lower, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
    {
        return format!("; did you mean `{}`?", dotted(prefix, best.1));
    }
    if let Some((section, _)) = SCHEMA
        .iter()
        .find(|(section, keys)| *section != prefix && keys.contains(&lower.as_str()))
    {
        return format!("; `{key}` belongs in [{section}]");
    }
    String::new()
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

impl FileConfig {
    /// Relative paths written in a config file are relative to that file's folder.
    fn make_paths_relative_to(&mut self, dir: &Path) {
        if dir.as_os_str().is_empty() || dir == Path::new(".") {
            return;
        }
        for p in [
            &mut self.network.ca_file,
            &mut self.workbook.path,
            &mut self.report.path,
            &mut self.email.ca_file,
            &mut self.email.eml_dir,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(text.trim())
        .map(Some)
        .map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration \"{text}\": {e} (write it like \"100s\", \"250ms\", \"24h\")"
            ))
        })
}

/// `starttls`, `tls` (implicit TLS, "ssl"), `none`; case ignored.
pub(crate) fn parse_security(text: &str) -> Result<SmtpSecurity, String> {
    match text
        .trim()
        .to_ascii_lowercase()
        .replace(['-', '_'], "")
        .as_str()
    {
        "starttls" => Ok(SmtpSecurity::Starttls),
        "tls" | "ssl" | "implicittls" | "smtps" => Ok(SmtpSecurity::Tls),
        "none" | "plain" | "off" => Ok(SmtpSecurity::None),
        _ => Err(format!(
            "unknown email security \"{text}\" (expected starttls, tls or none)"
        )),
    }
}

/// `auto`, `plain`, `login`, `xoauth2` ("oauth2"); case ignored.
pub(crate) fn parse_auth(text: &str) -> Result<SmtpAuth, String> {
    match text
        .trim()
        .to_ascii_lowercase()
        .replace(['-', '_'], "")
        .as_str()
    {
        "auto" => Ok(SmtpAuth::Auto),
        "plain" => Ok(SmtpAuth::Plain),
        "login" => Ok(SmtpAuth::Login),
        "xoauth2" | "oauth2" | "oauth" => Ok(SmtpAuth::Xoauth2),
        _ => Err(format!(
            "unknown email auth \"{text}\" (expected auto, plain, login or xoauth2)"
        )),
    }
}

fn security<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SmtpSecurity>, D::Error> {
    let text = String::deserialize(d)?;
    parse_security(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn auth<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SmtpAuth>, D::Error> {
    let text = String::deserialize(d)?;
    parse_auth(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// `to = "a@example.com"` or `to = ["a@example.com", "b@example.com"]`.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Some(
        match OneOrMany::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected an address or a list of addresses"))?
        {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        },
    ))
}

/// `[rules.edr]` as groups in file order; each group needs at least one engine name.
fn edr_groups<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<EngineGroup>>, D::Error> {
    let map = toml::Table::deserialize(d)?;
    let mut groups = Vec::with_capacity(map.len());
    for (name, value) in map {
        let aliases: Vec<String> = match value {
            toml::Value::String(s) => vec![s],
            toml::Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s),
                    other => Err(serde::de::Error::custom(format!(
                        "rules.edr.{name}: engine names are strings, found {}",
                        other.type_str()
                    ))),
                })
                .collect::<Result<_, _>>()?,
            other => {
                return Err(serde::de::Error::custom(format!(
                    "rules.edr.{name}: expected a list of engine names, found {}",
                    other.type_str()
                )));
            }
        };
        if aliases.iter().all(|a| a.trim().is_empty()) {
            return Err(serde::de::Error::custom(format!(
                "rules.edr.{name}: list at least one engine name"
            )));
        }
        groups.push(EngineGroup { name, aliases });
    }
    Ok(Some(groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<FileConfig, ConfigError> {
        parse(text, Path::new("./ioc-tracker.toml"))
    }

    #[test]
    fn unknown_key_names_key_file_and_known_keys() {
        let err = parse_str("[virustotal]\napi_kyes = [\"x\"]\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("unknown key `virustotal.api_kyes` in ./ioc-tracker.toml"),
            "{text}"
        );
        assert!(
            text.contains("did you mean `virustotal.api_keys`?"),
            "{text}"
        );
        assert!(
            text.contains("known keys: virustotal.base_url, virustotal.api_keys"),
            "{text}"
        );
    }

    #[test]
    fn unknown_nested_and_top_level_keys() {
        let text = parse_str("[workbook.columns]\nioc = \"Type\"\n")
            .unwrap_err()
            .to_string();
        assert!(text.contains("`workbook.columns.ioc`"), "{text}");
        assert!(text.contains("workbook.columns.ioc_type"), "{text}");
        let text = parse_str("[virus_total]\n").unwrap_err().to_string();
        assert!(
            text.contains("`virus_total`") && text.contains("did you mean `virustotal`"),
            "{text}"
        );
        let text = parse_str("[email]\napi_keys = []\n")
            .unwrap_err()
            .to_string();
        assert!(text.contains("belongs in [virustotal]"), "{text}");
        let text = parse_str("threshold = 3\n").unwrap_err().to_string();
        assert!(text.contains("`threshold` belongs in [rules]"), "{text}");
    }

    #[test]
    fn edr_groups_keep_file_order_and_any_name() {
        let f = parse_str("[rules.edr]\nZeta = [\"Z1\", \"Z2\"]\nAlpha = \"A\"\n").unwrap();
        let groups = f.rules.edr.unwrap();
        assert_eq!(groups[0].name, "Zeta");
        assert_eq!(groups[0].aliases, vec!["Z1", "Z2"]);
        assert_eq!(groups[1].name, "Alpha");
        let text = parse_str("[rules.edr]\nX = []\n").unwrap_err().to_string();
        assert!(
            text.contains("rules.edr.X: list at least one engine name"),
            "{text}"
        );
        let text = parse_str("[rules.edr]\nX = 3\n").unwrap_err().to_string();
        assert!(text.contains("rules.edr.X: expected a list"), "{text}");
    }

    #[test]
    fn durations_spellings_and_type_errors() {
        let f = parse_str(
            "[virustotal]\npoll_timeout = \"250ms\"\nmax_age = \"24h\"\n[email]\nsecurity = \"SSL\"\nauth = \"OAuth2\"\nto = \"a@example.com\"\n",
        )
        .unwrap();
        assert_eq!(f.virustotal.poll_timeout, Some(Duration::from_millis(250)));
        assert_eq!(f.virustotal.max_age, Some(Duration::from_secs(86400)));
        assert_eq!(f.email.security, Some(SmtpSecurity::Tls));
        assert_eq!(f.email.auth, Some(SmtpAuth::Xoauth2));
        assert_eq!(f.email.to, Some(vec!["a@example.com".to_string()]));

        let text = parse_str("[virustotal]\npoll_timeout = \"100x\"\n")
            .unwrap_err()
            .to_string();
        assert!(text.starts_with("./ioc-tracker.toml: "), "{text}");
        assert!(text.contains("invalid duration \"100x\""), "{text}");
        assert!(text.contains("line 2"), "{text}");
        let text = parse_str("[email]\nsecurity = \"tls1.3\"\n")
            .unwrap_err()
            .to_string();
        assert!(text.contains("expected starttls, tls or none"), "{text}");
        let text = parse_str("[rules]\nthreshold = \"five\"\n")
            .unwrap_err()
            .to_string();
        assert!(text.contains("line 2"), "{text}");
        let text = parse_str("[rules\n").unwrap_err().to_string();
        assert!(text.starts_with("./ioc-tracker.toml: "), "{text}");
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[workbook]\npath = \"book.xlsx\"\n[report]\npath = \"/abs/r.xlsx\"\n",
        )
        .unwrap();
        let f = read(&path).unwrap();
        assert_eq!(f.workbook.path, Some(dir.path().join("book.xlsx")));
        assert_eq!(f.report.path, Some(PathBuf::from("/abs/r.xlsx")));
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("api_kyes", "api_keys"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
