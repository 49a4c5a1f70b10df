//! The quota plan, made before the first request: how many unique IOCs, the requests they need,
//! what each key has left today, the expected duration, and — when the quota cannot cover them
//! all — which IOCs are checked (least recently checked first, never-checked first) and which are
//! deferred. Pure: the quota state and the keys come in as values.

use std::time::Duration;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::ioc::Ioc;

/// Requests an IOC needs on average: a re-analysis is a POST plus at least one poll, and
/// sometimes a second poll or a GET of the object (measured by `cargo bench --bench lookup`).
pub const REQUESTS_PER_IOC_REANALYSE: f64 = 2.2;
/// `--no-reanalyse`: one GET.
pub const REQUESTS_PER_IOC_READ: f64 = 1.0;

/// One key's budget for today.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KeyBudget {
    /// `key #1 (abcd…wxyz)`
    pub key: String,
    pub per_minute: u32,
    pub daily_quota: u32,
    /// requests this key made today (UTC), from the quota state file
    pub used_today: u32,
}

impl KeyBudget {
    pub fn left_today(&self) -> u32 {
        self.daily_quota.saturating_sub(self.used_today)
    }
}

/// The plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub unique_iocs: usize,
    /// reused from an unfinished run's journal: no request needed
    pub reused: usize,
    pub requests_per_ioc: f64,
    pub requests_needed: u64,
    pub quota_left: u64,
    pub keys: Vec<KeyBudget>,
    /// to look up, in priority order
    pub check: Vec<Ioc>,
    /// not looked up this run: note "deferred: daily quota"
    pub deferred: Vec<Ioc>,
    /// at the keys' combined rate
    #[serde(serialize_with = "crate::config::serialize_duration")]
    pub expected: Duration,
}

/// Make the plan. `iocs` are the unique IOCs still to look up, each with the oldest `Last
/// Checked` of its rows (None = never checked).
pub fn make(
    iocs: Vec<(Ioc, Option<NaiveDateTime>)>,
    reused: usize,
    keys: Vec<KeyBudget>,
    requests_per_ioc: f64,
) -> Plan {
    let mut ordered = iocs;
    // never checked first, then the oldest check; stable, so workbook order breaks ties
    ordered.sort_by_key(|(_, last)| last.map_or((0, NaiveDateTime::MIN), |t| (1, t)));
    let quota_left: u64 = keys.iter().map(|k| u64::from(k.left_today())).sum();
    let fits = if requests_per_ioc <= 0.0 {
        ordered.len()
    } else {
        ((quota_left as f64) / requests_per_ioc).floor() as usize
    };
    let mut check: Vec<Ioc> = ordered.into_iter().map(|(ioc, _)| ioc).collect();
    let deferred = if check.len() > fits {
        check.split_off(fits)
    } else {
        Vec::new()
    };
    let requests_needed = (check.len() as f64 * requests_per_ioc).ceil() as u64;
    let per_minute: u64 = keys.iter().map(|k| u64::from(k.per_minute)).sum();
    let expected = if per_minute == 0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(requests_needed as f64 * 60.0 / per_minute as f64)
    };
    Plan {
        unique_iocs: check.len() + deferred.len() + reused,
        reused,
        requests_per_ioc,
        requests_needed,
        quota_left,
        keys,
        check,
        deferred,
        expected,
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "plan: {} unique IOCs; {} to look up (~{} requests at {:.1} per IOC){}",
            self.unique_iocs,
            self.check.len(),
            self.requests_needed,
            self.requests_per_ioc,
            if self.reused > 0 {
                format!("; {} reused from an unfinished run", self.reused)
            } else {
                String::new()
            },
        )?;
        for k in &self.keys {
            writeln!(
                f,
                "  {}: {}/min, {} of {} left today",
                k.key,
                k.per_minute,
                k.left_today(),
                k.daily_quota
            )?;
        }
        write!(
            f,
            "  expected duration: about {}",
            humantime::format_duration(round_secs(self.expected))
        )?;
        if !self.deferred.is_empty() {
            write!(
                f,
                "\n  the keys' daily quota ({} requests left) cannot cover every IOC: {} deferred to a later run (least recently checked go first)",
                self.quota_left,
                self.deferred.len()
            )?;
        }
        Ok(())
    }
}

fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs_f64().ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ioc(v: &str) -> Ioc {
        Ioc::parse(v, Some("Domain")).unwrap()
    }

    fn key(used: u32) -> KeyBudget {
        KeyBudget {
            key: "key #1 (abcd…wxyz)".into(),
            per_minute: 4,
            daily_quota: 500,
            used_today: used,
        }
    }

    fn at(day: u32) -> Option<NaiveDateTime> {
        chrono::NaiveDate::from_ymd_opt(2026, 11, day)
            .unwrap()
            .and_hms_opt(9, 0, 0)
    }

    #[test]
    fn everything_fits_and_the_duration_follows_the_rate() {
        let p = make(
            vec![(ioc("a.example"), None), (ioc("b.example"), None)],
            0,
            vec![key(0)],
            2.0,
        );
        assert_eq!(p.check.len(), 2);
        assert!(p.deferred.is_empty());
        assert_eq!(p.requests_needed, 4);
        assert_eq!(p.expected, Duration::from_secs(60));
    }

    #[test]
    fn short_quota_defers_the_most_recently_checked() {
        let iocs = vec![
            (ioc("recent.example"), at(20)),
            (ioc("never.example"), None),
            (ioc("old.example"), at(1)),
        ];
        // 495 used: 5 left → 2 IOCs at 2.2 requests
        let p = make(iocs, 0, vec![key(495)], 2.2);
        let check: Vec<&str> = p.check.iter().map(Ioc::value).collect();
        assert_eq!(check, ["never.example", "old.example"]);
        assert_eq!(
            p.deferred.iter().map(Ioc::value).collect::<Vec<_>>(),
            ["recent.example"]
        );
        assert!(p.to_string().contains("1 deferred"));
    }

    #[test]
    fn no_quota_left_defers_everything() {
        let p = make(vec![(ioc("a.example"), None)], 0, vec![key(500)], 2.2);
        assert!(p.check.is_empty());
        assert_eq!(p.deferred.len(), 1);
    }
}
