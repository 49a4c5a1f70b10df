//! What the simulator serves: keys and their limits, analysis delays, and per IOC its stale
//! ("before") and fresh ("after") score, engine names, detections and injected fault. A JSON file
//! (`ioc-tracker simulate --scenario file.json`) or [`Scenario::demo`]. IOCs not listed get a
//! deterministic profile derived from a hash of their value (most clean), so any workbook works.
//!
//! Time compression: `time_scale` divides the rate-limit minute and the analysis delays.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Secret, VtSettings};

/// Which engine names a file's results use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineSet {
    /// 2025: `TrellixENS`, no `FireEye`
    #[default]
    Current,
    /// 2024 and before: `FireEye`, `McAfee`
    Legacy,
}

/// A fault injected into every answer about one IOC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// the first `count` requests get 503 TransientError / 500 InternalError / 504, then OK
    Burst5xx { count: u32 },
    /// every request gets 500 InternalError
    Always5xx,
    /// 200 with a truncated JSON body
    MalformedJson,
    /// 200 with an HTML page (a proxy's or captive portal's)
    HtmlPage,
    /// every answer waits `ms` milliseconds (not scaled)
    Slow { ms: u64 },
    /// the connection drops in the middle of the body
    DropConnection,
    /// the analysis stays in progress forever
    NeverCompletes,
    /// the analysis completes without `stats` and `results`
    MissingStats,
}

/// One API key the simulator accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimKey {
    pub key: String,
    /// overrides the scenario's `requests_per_minute`
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
    /// overrides the scenario's `daily_quota`
    #[serde(default)]
    pub daily_quota: Option<u32>,
}

/// One IOC's profile. `value` is the normalised IOC (lower-case hash, the URL as sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimIoc {
    pub value: String,
    /// the score before any re-analysis (what a tool that skips re-analysis reads)
    pub before: u32,
    /// the score once a re-analysis completed
    pub after: u32,
    pub engines: EngineSet,
    /// engine names added to the kind's list (e.g. "FireEye" next to current names)
    pub extra_engines: Vec<String>,
    /// engines that detect it (category malicious); counted in the score
    pub detected_by: Vec<String>,
    /// 404 NotFoundError for everything about it
    pub not_found: bool,
    /// overrides the kind's analysis delay (milliseconds, before `time_scale`)
    pub analysis_delay_ms: Option<u64>,
    pub fault: Option<Fault>,
    /// age of the last analysis before any re-analysis, in hours
    pub last_analysis_age_hours: f64,
}

impl Default for SimIoc {
    fn default() -> Self {
        SimIoc {
            value: String::new(),
            before: 0,
            after: 0,
            engines: EngineSet::Current,
            extra_engines: Vec::new(),
            detected_by: Vec::new(),
            not_found: false,
            analysis_delay_ms: None,
            fault: None,
            last_analysis_age_hours: 24.0 * 30.0,
        }
    }
}

/// Analysis delays per kind, milliseconds before `time_scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Delays {
    pub file_ms: u64,
    pub url_ms: u64,
    pub host_ms: u64,
    /// each analysis takes the delay × a factor in [1 − jitter, 1 + jitter], derived from a
    /// hash of the IOC and the analysis (deterministic)
    pub jitter: f64,
}

impl Default for Delays {
    /// Realistic: files about 25 s, URLs about 10 s, domains and IPs about 4 s.
    fn default() -> Self {
        Delays {
            file_ms: 25_000,
            url_ms: 10_000,
            host_ms: 4_000,
            jitter: 0.0,
        }
    }
}

/// The whole scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    pub keys: Vec<SimKey>,
    pub requests_per_minute: u32,
    pub daily_quota: u32,
    /// divides the rate-limit minute and the analysis delays
    pub time_scale: f64,
    pub analysis_delays: Delays,
    /// gzip 2xx bodies when the client accepts gzip (429 bodies never are, like VirusTotal)
    pub gzip: bool,
    pub iocs: Vec<SimIoc>,
}

/// The key of the demo scenario (not a real VirusTotal key).
pub const DEMO_KEYS: [&str; 2] = [
    "demo0000000000000000000000000000000000000000000000000000000000a1",
    "demo0000000000000000000000000000000000000000000000000000000000b2",
];

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            keys: DEMO_KEYS
                .iter()
                .map(|k| SimKey {
                    key: (*k).into(),
                    requests_per_minute: None,
                    daily_quota: None,
                })
                .collect(),
            requests_per_minute: 4,
            daily_quota: 500,
            time_scale: 1.0,
            analysis_delays: Delays::default(),
            gzip: true,
            iocs: Vec::new(),
        }
    }
}

/// The IOCs of the demo scenario — the rows of the bundled sample workbook
/// (`fixtures/sample_ioc_tracking.xlsx`), as normalised values:
/// (IOC column, IOC value, malware name, what the demo shows).
pub const DEMO_IOCS: &[(&str, &str, &str, &str)] = &[
    (
        "SHA256",
        "ee09aafca8a533ade6d563958fd77aa7e9cb62a2e37b61b397ec4f0519ae1a95",
        "Emotet",
        "30 before, 32 after; detected by FireEye and TrellixENS: covered by EDR (rows 2 and 14)",
    ),
    (
        "Domain",
        "evil-loader.example.com",
        "",
        "2 before re-analysis, 12 after: flagged only after re-analysis",
    ),
    (
        "MD5",
        "42e9c03185563eeaaf3f6bd956674e0a",
        "",
        "20 detections, legacy engine names, McAfee detects, FireEye does not: flagged",
    ),
    ("IP", "203.0.113.45", "", "clean"),
    (
        "URL",
        "https://payload.example.net/dl/invoice.zip",
        "",
        "3 before, 9 after: flagged only after re-analysis",
    ),
    (
        "SHA1",
        "b31ef4f6a08a1484f18a5b9d0240eac158dc4572",
        "",
        "not found in VirusTotal",
    ),
    (
        "IPv6",
        "2001:db8::dead:beef",
        "",
        "clean; two 5xx answers first, then recovers",
    ),
    (
        "Domain",
        "cdn-update.example.org",
        "",
        "7 detections: flagged",
    ),
    (
        "SHA256",
        "ed3e74697116ecfbe4238fde1ad42140489cd7f077d93fa165292479830f7a4b",
        "",
        "1 detection: below threshold",
    ),
    (
        "IP",
        "198.51.100.23",
        "",
        "0 before, 6 after: flagged only after re-analysis",
    ),
    (
        "URL",
        "http://login-portal.example.test/verify.php",
        "",
        "4 detections: below threshold",
    ),
    ("MD5", "eb535ebfa47684bd4ac356799fa61c64", "", "clean"),
    ("Domain", "mail.example.net", "", "clean"),
];

impl Scenario {
    /// The demo: two keys at 4 requests a (compressed) minute, time compressed 60×, analyses
    /// that complete in under a second, and the profiles of [`DEMO_IOCS`].
    pub fn demo() -> Scenario {
        let ioc = |value: &str, before: u32, after: u32| SimIoc {
            value: value.into(),
            before,
            after,
            ..SimIoc::default()
        };
        let mut covered = ioc(DEMO_IOCS[0].1, 30, 32);
        covered.extra_engines = vec!["FireEye".into()];
        covered.detected_by = vec!["FireEye".into(), "TrellixENS".into()];
        let mut mcafee = ioc(DEMO_IOCS[2].1, 20, 20);
        mcafee.engines = EngineSet::Legacy;
        mcafee.detected_by = vec!["McAfee".into()];
        let mut not_found = ioc(DEMO_IOCS[5].1, 0, 0);
        not_found.not_found = true;
        let mut burst = ioc(DEMO_IOCS[6].1, 0, 0);
        burst.fault = Some(Fault::Burst5xx { count: 2 });
        Scenario {
            time_scale: 60.0,
            iocs: vec![
                covered,
                ioc(DEMO_IOCS[1].1, 2, 12),
                mcafee,
                ioc(DEMO_IOCS[3].1, 0, 0),
                ioc(DEMO_IOCS[4].1, 3, 9),
                not_found,
                burst,
                ioc(DEMO_IOCS[7].1, 7, 7),
                ioc(DEMO_IOCS[8].1, 1, 1),
                ioc(DEMO_IOCS[9].1, 0, 6),
                ioc(DEMO_IOCS[10].1, 4, 4),
                ioc(DEMO_IOCS[11].1, 0, 0),
                ioc(DEMO_IOCS[12].1, 0, 0),
            ],
            ..Scenario::default()
        }
    }

    /// Read a JSON scenario file.
    pub fn from_file(path: &std::path::Path) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read scenario {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("scenario {} is not valid: {e}", path.display()))
    }

    /// Point client settings at a simulator running this scenario, with limits and delays
    /// compressed alike: base URL, the scenario's keys, its limits, `time_scale`, and
    /// `poll_timeout` / `rate_limit_wait` divided by the scale.
    pub fn configure_client(&self, vt: &mut VtSettings, base_url: &str) {
        let scale = self.scale();
        vt.base_url = base_url.to_string();
        vt.api_keys = self
            .keys
            .iter()
            .map(|k| Secret::new(k.key.clone()))
            .collect();
        vt.requests_per_minute = self.requests_per_minute;
        vt.daily_quota = self.daily_quota;
        vt.time_scale = scale;
        vt.poll_timeout = Duration::from_secs(100).div_f64(scale);
        vt.rate_limit_wait = Duration::from_secs(30).div_f64(scale);
        vt.request_timeout = Duration::from_secs(10);
    }

    pub(crate) fn scale(&self) -> f64 {
        if self.time_scale > 0.0 {
            self.time_scale
        } else {
            1.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_json_round_trips_with_faults() {
        let text = r#"{"time_scale": 100, "iocs": [
            {"value": "example.com", "before": 1, "after": 7, "fault": {"kind": "burst5xx", "count": 2}},
            {"value": "198.51.100.1", "fault": {"kind": "slow", "ms": 500}}
        ]}"#;
        let s: Scenario = serde_json::from_str(text).unwrap();
        assert_eq!(s.iocs[0].fault, Some(Fault::Burst5xx { count: 2 }));
        assert_eq!(s.iocs[1].fault, Some(Fault::Slow { ms: 500 }));
        assert_eq!(s.keys.len(), 2);
        let back: Scenario = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert!(serde_json::from_str::<Scenario>(r#"{"nope": 1}"#).is_err());
    }

    #[test]
    fn the_example_scenario_file_parses_with_every_fault() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/vt/scenario_example.json");
        let s = Scenario::from_file(&path).unwrap();
        let faults: Vec<_> = s.iocs.iter().filter_map(|i| i.fault.clone()).collect();
        assert_eq!(faults.len(), 8, "{faults:?}");
        assert_eq!(s.keys[1].daily_quota, Some(20));
        assert_eq!(s.iocs[0].engines, EngineSet::Legacy);
    }

    #[test]
    fn a_bad_scenario_file_names_itself() {
        let e = Scenario::from_file(std::path::Path::new("/nonexistent/s.json")).unwrap_err();
        assert!(e.contains("/nonexistent/s.json"), "{e}");
    }

    #[test]
    fn the_demo_has_every_kind_and_the_promised_cases() {
        let d = Scenario::demo();
        assert_eq!(d.iocs.len(), DEMO_IOCS.len());
        for kind in ["SHA256", "MD5", "SHA1", "Domain", "IP", "URL"] {
            assert!(DEMO_IOCS.iter().any(|i| i.0 == kind), "{kind}");
        }
        assert!(d.iocs.iter().any(|i| i.not_found));
        assert!(d.iocs.iter().any(|i| i.before < 5 && i.after >= 5));
        assert!(
            d.iocs
                .iter()
                .any(|i| matches!(i.fault, Some(Fault::Burst5xx { .. })))
        );
        assert!(
            d.iocs
                .iter()
                .any(|i| i.detected_by.contains(&"FireEye".to_string())
                    && i.detected_by.contains(&"TrellixENS".to_string()))
        );
    }
}
