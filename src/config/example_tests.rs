//! `config.example.toml` stays true: as shipped it parses to the defaults, every key in it is
//! one the loader accepts, and every resolved setting is documented in it.

use std::collections::BTreeSet;

use clap::Parser;

use super::{EXAMPLE_CONFIG, Settings, load::load_with_dirs};
use crate::cli::Cli;

fn load_text(text: &str) -> Result<Settings, super::ConfigError> {
    load_text_in(text, &tempfile::tempdir().unwrap())
}

fn load_text_in(text: &str, dir: &tempfile::TempDir) -> Result<Settings, super::ConfigError> {
    let path = dir.path().join("ioc-tracker.toml");
    std::fs::write(&path, text).unwrap();
    let cli =
        Cli::try_parse_from(["ioc-tracker", "-c", path.to_str().unwrap(), "validate"]).unwrap();
    load_with_dirs(&cli, &|_: &str| None, None)
}

fn without_file(s: &Settings) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap();
    v.as_object_mut().unwrap().remove("config_file");
    v
}

/// A commented key line: `# key = value` (prose lines never have `word = ` after the `# `).
fn commented_key(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("# ")?;
    let (key, _) = rest.split_once(" = ")?;
    key.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then_some(key)
}

/// (table, key) for every key the example documents, live or commented.
fn documented() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut table = String::new();
    for line in EXAMPLE_CONFIG.lines() {
        let header = line.strip_prefix("# ").unwrap_or(line);
        if let Some(name) = header.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            table = name.to_string();
            out.insert((String::new(), name.to_string()));
            continue;
        }
        if let Some(key) = commented_key(line) {
            out.insert((table.clone(), key.to_string()));
        }
    }
    out
}

#[test]
fn the_example_as_shipped_yields_the_defaults() {
    let s = load_text(EXAMPLE_CONFIG).unwrap();
    assert_eq!(without_file(&s), without_file(&Settings::defaults()));
}

#[test]
fn every_documented_key_is_accepted_when_uncommented() {
    let uncommented: String = EXAMPLE_CONFIG
        .lines()
        .map(|line| {
            let is_table = line.starts_with("# [") && line.ends_with(']');
            if is_table || commented_key(line).is_some() {
                &line[2..]
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        uncommented.contains("\nthreshold = "),
        "the test really uncomments"
    );
    let dir = tempfile::tempdir().unwrap();
    let s = load_text_in(&uncommented, &dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.virustotal.api_keys.len(), 1);

    // Uncommented, every key that has a default shows exactly that default; only the keys
    // that are "not set" by default show an example value.
    let examples = [
        "virustotal.api_keys",
        "virustotal.max_age",
        "network.proxy",
        "network.ca_file",
        "workbook.sheet",
        "report.path",
        "email.smtp_host",
        "email.username",
        "email.password",
        "email.oauth_token",
        "email.ca_file",
        "email.from",
        "email.to",
        "email.eml_dir",
    ];
    // Relative paths in a file are relative to its folder: compare them as written.
    let prefix = format!("{}/", dir.path().display());
    let got: serde_json::Value =
        serde_json::from_str(&without_file(&s).to_string().replace(&prefix, "")).unwrap();
    let want = without_file(&Settings::defaults());
    for (section, fields) in want.as_object().unwrap() {
        for (field, value) in fields.as_object().unwrap() {
            let key = format!("{section}.{field}");
            let differs = &got[section][field] != value;
            if examples.contains(&key.as_str()) {
                assert!(
                    differs,
                    "{key}: the example shows a value other than \"not set\""
                );
            } else {
                assert!(
                    !differs,
                    "{key}: documented {} but the default is {value}",
                    got[section][field]
                );
            }
        }
    }
}

#[test]
fn every_resolved_setting_is_documented() {
    let docs = documented();
    let defaults = serde_json::to_value(Settings::defaults()).unwrap();
    let mut missing = Vec::new();
    for (section, fields) in defaults.as_object().unwrap() {
        let Some(fields) = fields.as_object() else {
            assert_eq!(section, "config_file", "only config_file is not a table");
            continue;
        };
        for (field, value) in fields {
            let (table, key) = match (section.as_str(), field.as_str()) {
                ("rules", "edr_groups") => ("".to_string(), "rules.edr".to_string()),
                (_, "columns") => ("".to_string(), format!("{section}.{field}")),
                _ => (section.clone(), field.clone()),
            };
            if !docs.contains(&(table.clone(), key.clone())) {
                missing.push(format!("{table}.{key}"));
            }
            if let (Some(inner), "columns") = (value.as_object(), field.as_str()) {
                for column in inner.keys() {
                    let t = format!("{section}.{field}");
                    if !docs.contains(&(t.clone(), column.clone())) {
                        missing.push(format!("{t}.{column}"));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not documented in config.example.toml: {missing:?}"
    );
    assert!(docs.contains(&("rules.edr".into(), "FireEye".into())));
}
