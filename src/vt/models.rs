//! serde models of the VirusTotal v3 bodies ioc-tracker reads: only the fields it uses, every
//! other field ignored. Shapes follow the recorded responses in `shared/vt-samples/`: bodies are
//! wrapped as `{"data": …}`, `last_analysis_stats` has 5 keys (URL, domain, IP) or 8 (files), an
//! analysis carries `attributes.status/stats/results/date`. A queued analysis has all-zero
//! stats, so `stats` is only meaningful when `status == "completed"`.
//!
//! This module does not decide anything; `client` turns bodies into typed results.

use serde::Deserialize;

use super::{EngineResult, EngineResults};

/// `{"data": …}`
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    pub data: T,
}

/// `last_analysis_stats` / analysis `stats`: only `malicious` is the score; the others are kept
/// for the report's detail and default to 0 when absent (5-key and 8-key forms both parse).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Stats {
    pub malicious: u32,
    #[serde(default)]
    pub suspicious: u32,
    #[serde(default)]
    pub undetected: u32,
    #[serde(default)]
    pub harmless: u32,
}

/// One engine entry as sent: `category` is required, `result` may be null or missing.
#[derive(Debug, Clone, Deserialize)]
struct RawEngine {
    category: String,
    #[serde(default)]
    result: Option<String>,
}

/// Engine results, tolerant of entries that lack a category (they are skipped, not fatal).
fn engines<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<EngineResults>, D::Error> {
    let raw: Option<std::collections::BTreeMap<String, serde_json::Value>> =
        Option::deserialize(d)?;
    Ok(raw.map(|m| {
        m.into_iter()
            .filter_map(|(name, v)| {
                serde_json::from_value::<RawEngine>(v).ok().map(|e| {
                    (
                        name,
                        EngineResult {
                            category: e.category,
                            result: e.result,
                        },
                    )
                })
            })
            .collect()
    }))
}

/// `GET files/{id}`, `urls/{id}`, `domains/{d}`, `ip_addresses/{ip}` → `data`.
#[derive(Debug, Deserialize)]
pub struct Object {
    pub id: String,
    #[serde(default)]
    pub attributes: ObjectAttributes,
}

#[derive(Debug, Default, Deserialize)]
pub struct ObjectAttributes {
    #[serde(default)]
    pub last_analysis_stats: Option<Stats>,
    #[serde(default, deserialize_with = "engines")]
    pub last_analysis_results: Option<EngineResults>,
    /// Unix seconds.
    #[serde(default)]
    pub last_analysis_date: Option<i64>,
}

/// `POST …/analyse` and `POST /urls` → `data`: `{"type": "analysis", "id": …}`.
#[derive(Debug, Deserialize)]
pub struct AnalysisRef {
    pub id: String,
}

/// `GET /analyses/{id}` → `data`.
#[derive(Debug, Deserialize)]
pub struct Analysis {
    pub id: String,
    pub attributes: AnalysisAttributes,
}

#[derive(Debug, Deserialize)]
pub struct AnalysisAttributes {
    /// "queued", "in-progress", "completed"
    pub status: String,
    #[serde(default)]
    pub stats: Option<Stats>,
    #[serde(default, deserialize_with = "engines")]
    pub results: Option<EngineResults>,
    /// Unix seconds.
    #[serde(default)]
    pub date: Option<i64>,
}

impl Analysis {
    pub fn is_completed(&self) -> bool {
        self.attributes.status == "completed"
    }
}

/// `{"error": {"code": "NotFoundError", "message": …}}`
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// `GET /users/{id}/overall_quotas`: `{"data": {"api_requests_daily": {"user": {"allowed",
/// "used"}}, …}}`. The documentation's example shows the same object without `data`; both parse.
#[derive(Debug, Deserialize)]
pub struct OverallQuotas {
    #[serde(default)]
    data: Option<QuotaSet>,
    #[serde(default, flatten)]
    bare: QuotaSet,
}

#[derive(Debug, Default, Deserialize)]
struct QuotaSet {
    #[serde(default)]
    api_requests_daily: Option<QuotaGroups>,
}

#[derive(Debug, Deserialize)]
struct QuotaGroups {
    #[serde(default)]
    user: Option<DailyQuota>,
}

/// A key's daily quota as VirusTotal counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct DailyQuota {
    pub allowed: u64,
    #[serde(default)]
    pub used: u64,
}

impl OverallQuotas {
    /// `api_requests_daily.user`, inside `data` or not.
    pub fn daily(&self) -> Option<DailyQuota> {
        self.data
            .as_ref()
            .and_then(|d| d.api_requests_daily.as_ref())
            .or(self.bare.api_requests_daily.as_ref())
            .and_then(|g| g.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/vt");

    fn sample(name: &str) -> String {
        std::fs::read_to_string(format!("{SAMPLES}/{name}")).unwrap()
    }

    #[test]
    fn file_object_with_8_key_stats_parses() {
        let o: Envelope<Object> = serde_json::from_str(&sample(
            "file_object_2025-05-13_gti-dev-kit_enrich_file.json",
        ))
        .unwrap();
        let a = o.data.attributes;
        assert_eq!(a.last_analysis_stats.unwrap().malicious, 44);
        let r = a.last_analysis_results.unwrap();
        assert_eq!(r.len(), 77);
        assert_eq!(r["McAfee"].category, "malicious");
        assert_eq!(
            r["McAfee"].result.as_deref(),
            Some("GenericRXAA-AA!37ECE581C10A")
        );
        assert!(!r.contains_key("FireEye"));
        assert_eq!(a.last_analysis_date, Some(1747109144));
    }

    #[test]
    fn overall_quotas_parse_with_and_without_data() {
        let bare: OverallQuotas =
            serde_json::from_str(&sample("overall_quotas_data_premium_xsoar-readme.json")).unwrap();
        assert_eq!(
            bare.daily(),
            Some(DailyQuota {
                allowed: 1000,
                used: 74
            })
        );
        let wrapped: OverallQuotas = serde_json::from_str(
            r#"{"data":{"api_requests_daily":{"user":{"allowed":500,"used":3}}}}"#,
        )
        .unwrap();
        assert_eq!(wrapped.daily().map(|d| (d.allowed, d.used)), Some((500, 3)));
        let none: OverallQuotas = serde_json::from_str(r#"{"data":{}}"#).unwrap();
        assert_eq!(none.daily(), None);
    }

    #[test]
    fn domain_object_with_5_key_stats_parses() {
        let o: Envelope<Object> =
            serde_json::from_str(&sample("domain_object_2025-08-07_gti-dev-kit.json")).unwrap();
        assert_eq!(o.data.id, "www.google.com");
        let s = o.data.attributes.last_analysis_stats.unwrap();
        assert_eq!((s.malicious, s.harmless, s.undetected), (0, 65, 29));
    }

    #[test]
    fn completed_file_analysis_carries_stats_and_results() {
        let a: Envelope<Analysis> = serde_json::from_str(&sample(
            "file_analysis_completed_2024-05-14_ansafe-zenith.json",
        ))
        .unwrap();
        assert!(a.data.is_completed());
        assert_eq!(a.data.attributes.stats.unwrap().malicious, 30);
        let r = a.data.attributes.results.unwrap();
        assert_eq!(r["FireEye"].category, "undetected");
        assert_eq!(r["FireEye"].result, None);
        assert_eq!(a.data.attributes.date, Some(1715670556));
    }

    #[test]
    fn url_analysis_with_extra_top_level_id_parses() {
        let a: Envelope<Analysis> = serde_json::from_str(&sample(
            "url_analysis_completed_2021-02-22_xsoar-readme.json",
        ))
        .unwrap();
        assert_eq!(a.data.attributes.stats.unwrap().malicious, 7);
    }

    #[test]
    fn a_body_without_data_is_an_error_not_a_panic() {
        assert!(serde_json::from_str::<Envelope<Object>>(r#"{"error":{"code":"X"}}"#).is_err());
        assert!(serde_json::from_str::<Envelope<Analysis>>(r#"{"data":{"id":"a"}}"#).is_err());
    }

    #[test]
    fn an_engine_entry_without_category_is_skipped() {
        let o: Envelope<Object> = serde_json::from_str(
            r#"{"data":{"id":"x","attributes":{"last_analysis_results":{"A":{"result":"r"},"B":{"category":"malicious","result":"Evil"}}}}}"#,
        )
        .unwrap();
        let r = o.data.attributes.last_analysis_results.unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r["B"].result.as_deref(), Some("Evil"));
    }
}
