//! Quota planning through the real binary: when today's quota (from the quota state file, or
//! from the simulator's `/users/{key}/overall_quotas` with `query_quota = true`) cannot cover
//! every IOC, the never-checked IOCs go first, then the least recently checked; the rest get
//! "deferred: daily quota" and no request, and the run says so before its first lookup.
//! `validate` shows the same plan and spends nothing.

use std::collections::BTreeSet;

use ioc_tracker::config::Secret;
use ioc_tracker::vt::sim::Simulator;

use crate::common::{self, generated};
use crate::harness::{self, KEY, by_row, read_sheet};

const N: usize = 30;
const NEVER: usize = 10;

/// Rows 0–9 never checked; rows 10–29 checked on distinct November days, out of order.
fn rows() -> Vec<generated::GenRow> {
    let mut rows = generated::rows(N, 21);
    for (i, r) in rows.iter_mut().enumerate().skip(NEVER) {
        let day = 1 + ((i - NEVER) * 7) % 20;
        r.last_checked = Some(common::datetime(2026, 11, day as u32, 9, 0));
    }
    rows
}

/// The values a plan with room for `fits` IOCs checks: never-checked first, then the oldest.
fn expected_checked(rows: &[generated::GenRow], fits: usize) -> BTreeSet<String> {
    let mut order: Vec<&generated::GenRow> = rows.iter().collect();
    order.sort_by_key(|r| r.last_checked);
    order
        .into_iter()
        .take(fits)
        .map(|r| r.value.clone())
        .collect()
}

fn validate_json(cfg: &std::path::Path, wb: &std::path::Path) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ioc-tracker"))
        .env_remove("IOC_TRACKER_CONFIG")
        .env("IOC_TRACKER_VT_KEYS", KEY)
        .arg("-c")
        .arg(cfg)
        .args(["validate", "--json", "--workbook"])
        .arg(wb)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_quota_defers_the_most_recently_checked_and_says_so_first() {
    let dir = tempfile::tempdir().unwrap();
    let wb = dir.path().join("ioc_tracking.xlsx");
    let rows = rows();
    generated::write(&wb, &rows, true);
    let original = read_sheet(&wb, "IOC Tracking").unwrap();
    let sim = Simulator::start(harness::scenario(&rows, |_, r| {
        harness::profile(&r.value, 0, 1, None)
    }))
    .await
    .unwrap();
    let cfg = harness::config(dir.path(), &sim, 1000.0, "daily_quota = 500");
    // 466 of 500 used today: 34 left = 15 IOCs at 2.2 requests
    let state = ioc_tracker::quota::state_path(&wb);
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    std::fs::write(
        &state,
        serde_json::json!({
            "day": ioc_tracker::quota::today_utc(),
            "used": {ioc_tracker::quota::fingerprint(&Secret::new(KEY)): 466},
        })
        .to_string(),
    )
    .unwrap();
    let fits = 15;
    let checked = expected_checked(&rows, fits);

    // validate: the same plan, no request
    let v = validate_json(&cfg, &wb);
    let plan = &v["plan"];
    assert_eq!(plan["unique_iocs"], N);
    assert_eq!(plan["to_look_up"], fits);
    assert_eq!(plan["deferred"], N - fits);
    assert_eq!(plan["quota_left"], 34);
    assert_eq!(plan["keys"][0]["used_today"], 466);
    let deferred_by_validate: BTreeSet<String> = plan["deferred_iocs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    assert!(deferred_by_validate.is_disjoint(&checked));
    assert_eq!(sim.counts().total, 0, "validate spends nothing");

    let ran = harness::run(&cfg, &wb, &[]).await;
    assert_eq!(
        ran.code,
        Some(1),
        "deferred IOCs are not checked: {}",
        ran.stderr
    );
    let said = ran
        .stderr
        .find("cannot cover every IOC: 15 deferred")
        .unwrap_or_else(|| panic!("says so: {}", ran.stderr));
    let first_progress = ran.stderr.find("looked up").unwrap_or(usize::MAX);
    assert!(said < first_progress, "before starting: {}", ran.stderr);

    let counts = sim.counts();
    let iocs = by_row(&ran.json);
    let new = read_sheet(&wb, "IOC Tracking").unwrap();
    for (i, r) in rows.iter().enumerate() {
        let j = &iocs[&((i + 2) as u64)];
        if checked.contains(&r.value) {
            assert_eq!(j["score"], 1, "row {}: {j}", i + 2);
            assert!(counts.ioc(&r.value) > 0);
        } else {
            assert_eq!(j["note"], "deferred: daily quota", "row {}: {j}", i + 2);
            assert_eq!(counts.ioc(&r.value), 0, "row {}: no request", i + 2);
            assert_eq!(new.cell(i, "Notes"), "deferred: daily quota");
            assert_eq!(
                new.cell(i, "Last Checked"),
                original.cell(i, "Last Checked")
            );
            assert_eq!(
                new.cell(i, "Current Score"),
                original.cell(i, "Current Score")
            );
        }
    }
    // the state file counts what this run spent
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let used = saved["used"][ioc_tracker::quota::fingerprint(&Secret::new(KEY))]
        .as_u64()
        .unwrap();
    assert_eq!(used, 466 + counts.total);
    eprintln!(
        "quota (state file): 34 left → {fits} checked ({} requests), {} deferred with no request",
        counts.total,
        N - fits
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_quota_reads_the_keys_daily_quota_from_virustotal() {
    let dir = tempfile::tempdir().unwrap();
    let wb = dir.path().join("ioc_tracking.xlsx");
    let rows = rows();
    generated::write(&wb, &rows, true);
    let mut scenario = harness::scenario(&rows, |_, r| harness::profile(&r.value, 0, 1, None));
    scenario.daily_quota = 40;
    let sim = Simulator::start(scenario).await.unwrap();
    // the config says a huge quota: only VirusTotal's answer can make it 40
    let cfg = harness::config(dir.path(), &sim, 1000.0, "query_quota = true");

    let v = validate_json(&cfg, &wb);
    assert_eq!(v["plan"]["keys"][0]["daily_quota"], 40, "{v}");
    let c = sim.counts();
    assert_eq!(
        (c.total, c.endpoint("quotas")),
        (1, 1),
        "validate only reads the quota"
    );

    let ran = harness::run(&cfg, &wb, &[]).await;
    assert!(
        ran.stderr.contains("of 40 left today"),
        "the plan shows VirusTotal's quota: {}",
        ran.stderr
    );
    // the simulator counted validate's quota read: 39 left → 17 IOCs
    let fits = 17;
    let checked = expected_checked(&rows, fits);
    let iocs = by_row(&ran.json);
    let counts = sim.counts();
    for (i, r) in rows.iter().enumerate() {
        let j = &iocs[&((i + 2) as u64)];
        if checked.contains(&r.value) {
            assert_eq!(j["score"], 1, "row {}: {j}", i + 2);
        } else {
            assert_eq!(j["note"], "deferred: daily quota", "row {}: {j}", i + 2);
            assert_eq!(counts.ioc(&r.value), 0);
        }
    }
    assert_eq!(counts.rate_limited, 0, "the plan kept within the quota");
    assert!(
        !ran.stderr.contains(KEY),
        "the key is in the URL, never in a message"
    );
}
