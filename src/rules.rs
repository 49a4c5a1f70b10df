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
