//! The quota state file: requests each key made today (UTC), kept across runs in
//! `<workbook folder>/.ioc-tracker/quota.json`, resetting at 00:00 UTC. Keys are stored as a
//! SHA-256 fingerprint, never in clear. Written atomically (temporary file + rename).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// Requests per key fingerprint on one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuotaState {
    pub day: Option<NaiveDate>,
    pub used: BTreeMap<String, u32>,
}

/// `<folder>/.ioc-tracker/quota.json`
pub fn state_path(workbook: &Path) -> PathBuf {
    let folder = workbook
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    folder.join(".ioc-tracker").join("quota.json")
}

/// A key's fingerprint: the first 16 hex characters of its SHA-256.
pub fn fingerprint(key: &Secret) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(key.expose().as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl QuotaState {
    /// Today's state (an unreadable or yesterday's file counts as nothing used).
    pub fn load(path: &Path, today: NaiveDate) -> QuotaState {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str::<QuotaState>(&t).ok())
            .filter(|s| s.day == Some(today))
            .unwrap_or(QuotaState {
                day: Some(today),
                used: BTreeMap::new(),
            })
    }

    pub fn used_today(&self, key: &Secret) -> u32 {
        self.used.get(&fingerprint(key)).copied().unwrap_or(0)
    }

    pub fn add(&mut self, key: &Secret, requests: u32) {
        *self.used.entry(fingerprint(key)).or_insert(0) += requests;
    }

    /// Write atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(
            serde_json::to_string_pretty(self)
                .unwrap_or_default()
                .as_bytes(),
        )?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Today in UTC (the day VirusTotal's daily quota counts).
pub fn today_utc() -> NaiveDate {
    Utc::now().date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_kept_per_key_and_resets_the_next_day() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir.path().join("w.xlsx"));
        let key = Secret::new("a".repeat(64));
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let mut s = QuotaState::load(&path, day);
        s.add(&key, 7);
        s.save(&path).unwrap();
        assert_eq!(QuotaState::load(&path, day).used_today(&key), 7);
        assert_eq!(
            QuotaState::load(&path, day.succ_opt().unwrap()).used_today(&key),
            0
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("aaaaaaaa"),
            "the key is never stored: {text}"
        );
    }
}
