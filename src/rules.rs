//! The rules: engine verdicts per EDR group, and the disposition of every row with its reason.
//! Pure: no I/O.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::EngineGroup;
use crate::vt::EngineResults;

/// What one EDR engine group said about an IOC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// category malicious, with the engine that answered and its result name
    Detected {
        engine: String,
        result: Option<String>,
    },
    /// the engine answered, not malicious
    NotDetected {
        engine: String,
        result: Option<String>,
    },
    /// none of the group's aliases is in the results
    NotPresent,
}

/// Group name → verdict, in the configured group order (BTreeMap keeps JSON stable).
pub type Verdicts = BTreeMap<String, Verdict>;

/// The first alias present in the results decides the group's verdict.
pub fn group_verdicts(engines: &EngineResults, groups: &[EngineGroup]) -> Verdicts {
    groups
        .iter()
        .map(|g| {
            let v = g
                .aliases
                .iter()
                .find_map(|alias| engines.get(alias).map(|r| (alias, r)))
                .map(|(alias, r)| {
                    if r.category == "malicious" {
                        Verdict::Detected {
                            engine: alias.clone(),
                            result: r.result.clone(),
                        }
                    } else {
                        Verdict::NotDetected {
                            engine: alias.clone(),
                            result: r.result.clone(),
                        }
                    }
                })
                .unwrap_or(Verdict::NotPresent);
            (g.name.clone(), v)
        })
        .collect()
}

impl Verdict {
    pub fn is_detected(&self) -> bool {
        matches!(self, Verdict::Detected { .. })
    }

    /// "detected (Trojan.Generic)", "not detected", "not present"
    pub fn describe(&self) -> String {
        match self {
            Verdict::Detected {
                result: Some(r), ..
            } => format!("detected ({r})"),
            Verdict::Detected { result: None, .. } => "detected".to_string(),
            Verdict::NotDetected { .. } => "not detected".to_string(),
            Verdict::NotPresent => "not present".to_string(),
        }
    }

    /// For one cell of a table: "Detected (TrellixENS: Artemis!1F2E)", "Not detected (FireEye)",
    /// "Not present".
    pub fn cell(&self) -> String {
        match self {
            Verdict::Detected {
                engine,
                result: Some(r),
            } => format!("Detected ({engine}: {r})"),
            Verdict::Detected {
                engine,
                result: None,
            } => format!("Detected ({engine})"),
            Verdict::NotDetected { engine, .. } => format!("Not detected ({engine})"),
            Verdict::NotPresent => "Not present".to_string(),
        }
    }
}

/// "FireEye (FireEye) and McAfee (TrellixENS)" — groups named with the engine that answered.
fn name_groups(verdicts: &Verdicts) -> String {
    let names: Vec<String> = verdicts
        .iter()
        .map(|(group, v)| match v {
            Verdict::Detected { engine, .. } | Verdict::NotDetected { engine, .. } => {
                format!("{group} ({engine})")
            }
            Verdict::NotPresent => group.clone(),
        })
        .collect();
    join_and(&names)
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "FireEye: not present, McAfee (TrellixENS): detected (Artemis)"
fn verdict_summary(verdicts: &Verdicts) -> String {
    verdicts
        .iter()
        .map(|(group, v)| match v {
            Verdict::Detected { engine, .. } | Verdict::NotDetected { engine, .. }
                if engine != group =>
            {
                format!("{group} ({engine}): {}", v.describe())
            }
            _ => format!("{group}: {}", v.describe()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// "100 s", "0.5 s"
fn seconds(d: std::time::Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Everything the rules look at for one row.
#[derive(Debug, Clone, Copy)]
pub struct RuleInput<'a> {
    /// the normalised IOC's kind, or the reason the value is invalid
    pub ioc: Result<crate::ioc::IocKind, &'a str>,
    /// the lookup's outcome; None when it was not looked up (deferred by the quota plan)
    pub outcome: Option<&'a crate::vt::Outcome>,
    /// why it was not looked up, when `outcome` is None ("deferred: daily quota")
    pub not_looked_up: &'a str,
    pub verdicts: &'a Verdicts,
    /// the Status cell before this run
    pub status: &'a str,
    pub threshold: u32,
    pub realert: bool,
    /// the poll timeout, for the "re-analysis not finished within 100 s" note
    pub poll_timeout: std::time::Duration,
}

/// A row's disposition and the note that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub disposition: crate::report::Disposition,
    pub note: String,
}

/// Decide one row. Every branch gives its reason in words.
pub fn decide(input: &RuleInput<'_>) -> Decision {
    use crate::report::Disposition as D;
    use crate::vt::LookupStatus as S;

    let kind = match input.ioc {
        Err(problem) => {
            return Decision {
                disposition: D::Invalid,
                note: format!("invalid value: {problem}"),
            };
        }
        Ok(kind) => kind,
    };
    let Some(outcome) = input.outcome else {
        return Decision {
            disposition: D::NotChecked,
            note: input.not_looked_up.to_string(),
        };
    };
    let not_checked = |why: &str| Decision {
        disposition: D::NotChecked,
        note: format!("not checked: {why}; previous score kept"),
    };
    let stale_note = match &outcome.status {
        S::Failed(err) => return not_checked(err),
        S::NoQuota => return not_checked("no API quota left"),
        S::Interrupted => return not_checked("interrupted"),
        S::NotFound => {
            return Decision {
                disposition: D::NotFound,
                note: "not found in VirusTotal (score 0, not a clean result)".to_string(),
            };
        }
        S::Stale => Some(format!(
            "re-analysis not finished within {}; last known score",
            seconds(input.poll_timeout)
        )),
        S::Fresh | S::Current => None,
    };
    let Some(score) = outcome.score else {
        return not_checked("VirusTotal returned no score");
    };

    let edr = kind.is_hash() && !input.verdicts.is_empty();
    let covered = edr && input.verdicts.values().all(Verdict::is_detected);
    let over = score >= input.threshold;
    let already = input.status.trim().eq_ignore_ascii_case("malicious");

    let (disposition, mut note) = if over && covered {
        (
            D::CoveredByEdr,
            format!(
                "score {score} ≥ {}, but detected by {}: already covered by EDR",
                input.threshold,
                name_groups(input.verdicts)
            ),
        )
    } else if over && already && !input.realert {
        (
            D::AlreadyMalicious,
            format!(
                "score {score} ≥ {}; Status already Malicious, not flagged again (--realert to include)",
                input.threshold
            ),
        )
    } else if over {
        (
            D::Flagged,
            format!("flagged: score {score} ≥ {}", input.threshold),
        )
    } else {
        (
            D::BelowThreshold,
            format!("below threshold: score {score} < {}", input.threshold),
        )
    };
    if edr && disposition != D::CoveredByEdr {
        note.push_str(&format!("; EDR: {}", verdict_summary(input.verdicts)));
    }
    if let Some(stale) = stale_note {
        note.push_str(&format!("; {stale}"));
    }
    Decision { disposition, note }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::ioc::IocKind;
    use crate::report::Disposition as D;
    use crate::vt::{EngineResult, LookupStatus, Outcome};
    use std::time::Duration;

    fn engines(pairs: &[(&str, &str, Option<&str>)]) -> EngineResults {
        pairs
            .iter()
            .map(|(name, cat, res)| {
                (
                    name.to_string(),
                    EngineResult {
                        category: cat.to_string(),
                        result: res.map(str::to_string),
                    },
                )
            })
            .collect()
    }

    fn groups() -> Vec<EngineGroup> {
        Settings::defaults().rules.edr_groups
    }

    fn outcome(status: LookupStatus, score: Option<u32>) -> Outcome {
        Outcome {
            status,
            score,
            engines: EngineResults::new(),
            analysed_at: None,
            requests: 2,
        }
    }

    fn input<'a>(kind: IocKind, o: &'a Outcome, v: &'a Verdicts, status: &'a str) -> RuleInput<'a> {
        RuleInput {
            ioc: Ok(kind),
            outcome: Some(o),
            not_looked_up: "deferred: daily quota",
            verdicts: v,
            status,
            threshold: 5,
            realert: false,
            poll_timeout: Duration::from_secs(100),
        }
    }

    #[test]
    fn first_alias_present_wins_and_absent_is_not_present() {
        let e = engines(&[
            ("TrellixENS", "malicious", Some("Artemis!ABC")),
            ("McAfee Scanner", "undetected", None),
            ("Kaspersky", "malicious", Some("x")),
        ]);
        let v = group_verdicts(&e, &groups());
        assert_eq!(v["FireEye"], Verdict::NotPresent);
        assert_eq!(
            v["McAfee"],
            Verdict::Detected {
                engine: "TrellixENS".into(),
                result: Some("Artemis!ABC".into())
            }
        );
    }

    #[test]
    fn legacy_names_still_count() {
        let e = engines(&[
            ("FireEye", "malicious", Some("Gen:1")),
            ("McAfee", "undetected", None),
        ]);
        let v = group_verdicts(&e, &groups());
        assert!(v["FireEye"].is_detected());
        assert_eq!(
            v["McAfee"],
            Verdict::NotDetected {
                engine: "McAfee".into(),
                result: None
            }
        );
    }

    #[test]
    fn verdict_serialises_as_the_check_json_contract() {
        let v = Verdict::Detected {
            engine: "FireEye".into(),
            result: Some("Gen".into()),
        };
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            serde_json::json!({"verdict": "detected", "engine": "FireEye", "result": "Gen"})
        );
        assert_eq!(
            serde_json::to_value(Verdict::NotPresent).unwrap(),
            serde_json::json!({"verdict": "not_present"})
        );
    }

    #[test]
    fn score_at_threshold_is_flagged() {
        let o = outcome(LookupStatus::Fresh, Some(5));
        let v = Verdicts::new();
        let d = decide(&input(IocKind::Domain, &o, &v, ""));
        assert_eq!(d.disposition, D::Flagged);
        assert_eq!(d.note, "flagged: score 5 ≥ 5");
    }

    #[test]
    fn below_threshold() {
        let o = outcome(LookupStatus::Fresh, Some(4));
        let d = decide(&input(IocKind::Url, &o, &Verdicts::new(), ""));
        assert_eq!(d.disposition, D::BelowThreshold);
        assert_eq!(d.note, "below threshold: score 4 < 5");
    }

    #[test]
    fn hash_detected_by_both_groups_is_covered_by_edr() {
        let e = engines(&[
            ("FireEye", "malicious", Some("G")),
            ("TrellixENS", "malicious", Some("A")),
        ]);
        let v = group_verdicts(&e, &groups());
        let o = outcome(LookupStatus::Fresh, Some(40));
        let d = decide(&input(IocKind::Sha256, &o, &v, ""));
        assert_eq!(d.disposition, D::CoveredByEdr);
        assert!(
            d.note.contains(
                "detected by FireEye (FireEye) and McAfee (TrellixENS): already covered by EDR"
            ),
            "{}",
            d.note
        );
    }

    #[test]
    fn engine_not_present_counts_as_not_detected_and_says_so() {
        let e = engines(&[("TrellixENS", "malicious", Some("A"))]);
        let v = group_verdicts(&e, &groups());
        let o = outcome(LookupStatus::Fresh, Some(40));
        let d = decide(&input(IocKind::Md5, &o, &v, ""));
        assert_eq!(d.disposition, D::Flagged);
        assert!(d.note.contains("FireEye: not present"), "{}", d.note);
        assert!(
            d.note.contains("McAfee (TrellixENS): detected (A)"),
            "{}",
            d.note
        );
    }

    #[test]
    fn edr_rule_applies_to_hashes_only() {
        let e = engines(&[
            ("FireEye", "malicious", None),
            ("McAfee", "malicious", None),
        ]);
        let v = group_verdicts(&e, &groups());
        let o = outcome(LookupStatus::Fresh, Some(9));
        assert_eq!(
            decide(&input(IocKind::Domain, &o, &v, "")).disposition,
            D::Flagged
        );
        assert_eq!(
            decide(&input(IocKind::Sha1, &o, &v, "")).disposition,
            D::CoveredByEdr
        );
    }

    #[test]
    fn already_malicious_is_rescored_not_reflagged_unless_realert() {
        let o = outcome(LookupStatus::Fresh, Some(9));
        let v = Verdicts::new();
        let mut i = input(IocKind::Ip, &o, &v, " malicious ");
        assert_eq!(decide(&i).disposition, D::AlreadyMalicious);
        i.realert = true;
        assert_eq!(decide(&i).disposition, D::Flagged);
    }

    #[test]
    fn not_found_is_distinct_from_clean() {
        let o = outcome(LookupStatus::NotFound, Some(0));
        let d = decide(&input(IocKind::Domain, &o, &Verdicts::new(), ""));
        assert_eq!(d.disposition, D::NotFound);
        assert!(d.note.starts_with("not found in VirusTotal"));
    }

    #[test]
    fn failures_keep_the_previous_score_and_name_the_error() {
        for (status, text) in [
            (
                LookupStatus::Failed("HTTP 503 TransientError after 3 retries".into()),
                "HTTP 503",
            ),
            (LookupStatus::NoQuota, "no API quota left"),
            (LookupStatus::Interrupted, "interrupted"),
        ] {
            let o = outcome(status, None);
            let d = decide(&input(IocKind::Domain, &o, &Verdicts::new(), ""));
            assert_eq!(d.disposition, D::NotChecked);
            assert!(
                d.note.starts_with("not checked: ") && d.note.contains(text),
                "{}",
                d.note
            );
        }
    }

    #[test]
    fn stale_score_is_used_and_said() {
        let o = outcome(LookupStatus::Stale, Some(6));
        let d = decide(&input(IocKind::Url, &o, &Verdicts::new(), ""));
        assert_eq!(d.disposition, D::Flagged);
        assert!(
            d.note
                .ends_with("re-analysis not finished within 100 s; last known score"),
            "{}",
            d.note
        );
    }

    #[test]
    fn invalid_and_deferred_rows() {
        let v = Verdicts::new();
        let o = outcome(LookupStatus::Fresh, Some(1));
        let mut i = input(IocKind::Url, &o, &v, "");
        i.ioc = Err("wrong length for a hash: 31 hex characters");
        let d = decide(&i);
        assert_eq!(d.disposition, D::Invalid);
        assert_eq!(
            d.note,
            "invalid value: wrong length for a hash: 31 hex characters"
        );
        let i = RuleInput {
            outcome: None,
            ioc: Ok(IocKind::Url),
            ..i
        };
        assert_eq!(
            decide(&i),
            Decision {
                disposition: D::NotChecked,
                note: "deferred: daily quota".into()
            }
        );
    }

    fn both_detect() -> Verdicts {
        group_verdicts(
            &engines(&[
                ("FireEye", "malicious", Some("G")),
                ("TrellixENS", "malicious", Some("A")),
            ]),
            &groups(),
        )
    }

    #[test]
    fn stale_and_flagged_hash_says_both_the_edr_verdicts_and_the_stale_score() {
        let v = group_verdicts(&engines(&[("McAfee", "malicious", Some("A"))]), &groups());
        let o = outcome(LookupStatus::Stale, Some(7));
        let mut i = input(IocKind::Md5, &o, &v, "");
        i.poll_timeout = Duration::from_millis(500);
        let d = decide(&i);
        assert_eq!(d.disposition, D::Flagged);
        assert_eq!(
            d.note,
            "flagged: score 7 ≥ 5; EDR: FireEye: not present, McAfee: detected (A); re-analysis not finished within 0.5 s; last known score"
        );
    }

    #[test]
    fn stale_and_covered_by_edr_keeps_the_stale_note() {
        let v = both_detect();
        let o = outcome(LookupStatus::Stale, Some(30));
        let d = decide(&input(IocKind::Sha256, &o, &v, ""));
        assert_eq!(d.disposition, D::CoveredByEdr);
        assert_eq!(
            d.note,
            "score 30 ≥ 5, but detected by FireEye (FireEye) and McAfee (TrellixENS): already covered by EDR; re-analysis not finished within 100 s; last known score"
        );
    }

    #[test]
    fn covered_by_edr_wins_over_already_malicious_and_realert() {
        let v = both_detect();
        let o = outcome(LookupStatus::Fresh, Some(30));
        let mut i = input(IocKind::Sha1, &o, &v, "Malicious");
        assert_eq!(decide(&i).disposition, D::CoveredByEdr);
        i.realert = true;
        assert_eq!(decide(&i).disposition, D::CoveredByEdr);
    }

    #[test]
    fn already_malicious_below_threshold_is_below_threshold() {
        let o = outcome(LookupStatus::Fresh, Some(2));
        let d = decide(&input(IocKind::Domain, &o, &Verdicts::new(), "Malicious"));
        assert_eq!(d.disposition, D::BelowThreshold);
        assert_eq!(d.note, "below threshold: score 2 < 5");
    }

    #[test]
    fn already_malicious_note_is_exact() {
        let o = outcome(LookupStatus::Current, Some(8));
        let d = decide(&input(IocKind::Url, &o, &Verdicts::new(), "MALICIOUS"));
        assert_eq!(d.disposition, D::AlreadyMalicious);
        assert_eq!(
            d.note,
            "score 8 ≥ 5; Status already Malicious, not flagged again (--realert to include)"
        );
    }

    #[test]
    fn a_hash_both_groups_detect_below_the_threshold_is_below_threshold_with_the_verdicts() {
        let v = both_detect();
        let o = outcome(LookupStatus::Fresh, Some(3));
        let d = decide(&input(IocKind::Sha256, &o, &v, ""));
        assert_eq!(d.disposition, D::BelowThreshold);
        assert_eq!(
            d.note,
            "below threshold: score 3 < 5; EDR: FireEye: detected (G), McAfee (TrellixENS): detected (A)"
        );
    }

    #[test]
    fn no_engine_of_either_group_present_is_flagged_and_says_not_present() {
        let v = group_verdicts(&engines(&[("Kaspersky", "malicious", None)]), &groups());
        let o = outcome(LookupStatus::Fresh, Some(12));
        let d = decide(&input(IocKind::Sha256, &o, &v, ""));
        assert_eq!(d.disposition, D::Flagged);
        assert_eq!(
            d.note,
            "flagged: score 12 ≥ 5; EDR: FireEye: not present, McAfee: not present"
        );
    }

    #[test]
    fn no_edr_groups_configured_flags_hashes_without_an_edr_note() {
        let o = outcome(LookupStatus::Fresh, Some(12));
        let d = decide(&input(IocKind::Md5, &o, &Verdicts::new(), ""));
        assert_eq!(d.disposition, D::Flagged);
        assert_eq!(d.note, "flagged: score 12 ≥ 5");
    }

    #[test]
    fn an_answer_without_a_score_is_not_checked() {
        let o = outcome(LookupStatus::Fresh, None);
        let d = decide(&input(IocKind::Domain, &o, &Verdicts::new(), ""));
        assert_eq!(d.disposition, D::NotChecked);
        assert_eq!(
            d.note,
            "not checked: VirusTotal returned no score; previous score kept"
        );
    }
}
