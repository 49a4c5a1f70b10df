//! `kill -9` at 10 seeded random moments — 6 during the lookups (after a random number of
//! outcomes reached the journal) and 4 during the write (a random 0–150 ms after the writer's
//! first temporary file appears) — then: the workbook opens and is the old
//! file byte for byte or a complete new version, the backup (when there is one) is the old file,
//! and the next run resumes from the journal: no IOC whose outcome was journalled before the kill
//! gets a new request (from the simulator's per-IOC counts), and no temporary file is left.
//!
//! The seed is printed; `IOC_CRASH_SEED=N` replays a run of trials.

use std::path::Path;
use std::time::{Duration, Instant};

use ioc_tracker::vt::sim::Simulator;

use crate::common::generated;
use crate::harness::{self, Rng, non_tool_columns, read_sheet};

const N: usize = 200;
const TRIALS: u64 = 10;

fn before(i: usize) -> u32 {
    ((i * 5) % 9) as u32
}

fn after(i: usize) -> u32 {
    ((i * 7) % 11) as u32
}

fn count_outcomes(wb: &Path) -> usize {
    ioc_tracker::journal::journals(wb)
        .last()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map_or(0, |t| t.matches("\"event\":\"outcome\"").count())
}

#[derive(Debug, Clone, Copy)]
enum Moment {
    /// after this many outcomes are in the journal
    Lookups(usize),
    /// this many microseconds after the first temporary file of the writer appears (the new
    /// workbook being filled, the backup being copied, the renames)
    TempFile(u64),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_never_corrupts_and_resumes_without_repeating() {
    let seed: u64 = std::env::var("IOC_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_204);
    let mut rng = Rng::new(seed);
    eprintln!("crash test seed {seed} (IOC_CRASH_SEED={seed} replays it)");
    let rows = generated::rows(N, 9);
    let mut summary = Vec::new();
    for trial in 0..TRIALS {
        let moment = match trial {
            0..=5 => Moment::Lookups(1 + rng.below(N as u64 - 2) as usize),
            _ => Moment::TempFile(rng.below(150_000)),
        };
        let dir = tempfile::tempdir().unwrap();
        let wb = dir.path().join("ioc_tracking.xlsx");
        generated::write(&wb, &rows, false);
        let old_bytes = std::fs::read(&wb).unwrap();
        let original = read_sheet(&wb, "IOC Tracking").unwrap();
        // slower than the fault matrix (time_scale 100: files 250 ms, URLs 100 ms, hosts 40 ms)
        let mut scenario = harness::scenario(&rows, |i, r| {
            harness::profile(&r.value, before(i), after(i), None)
        });
        scenario.time_scale = 100.0;
        let sim = Simulator::start(scenario).await.unwrap();
        let cfg = harness::config(dir.path(), &sim, 100.0, "");

        // 1. the run, killed
        let mut child = harness::run_cmd(&cfg, &wb, &[])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let wb2 = wb.clone();
        let dir2 = dir.path().to_path_buf();
        let (killed_at, finished_first) = tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut temp_seen: Option<Instant> = None;
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    return (format!("finished first ({status})"), true);
                }
                let outcomes = match moment {
                    // nothing but the folder listing: the write takes a few milliseconds
                    Moment::TempFile(_) => 0,
                    Moment::Lookups(_) => count_outcomes(&wb2),
                };
                let now = Instant::now();
                let fire = match moment {
                    Moment::Lookups(k) => outcomes >= k,
                    Moment::TempFile(us) => {
                        if temp_seen.is_none() && !harness::temp_files(&dir2).is_empty() {
                            temp_seen = Some(now);
                        }
                        temp_seen.is_some_and(|t| now >= t + Duration::from_micros(us))
                    }
                };
                if fire || now > deadline {
                    child.kill().unwrap(); // SIGKILL
                    child.wait().unwrap();
                    return (format!("{outcomes} outcomes journalled"), false);
                }
                if !matches!(moment, Moment::TempFile(_)) {
                    std::thread::sleep(Duration::from_micros(500));
                }
            }
        })
        .await
        .unwrap();
        let elapsed = started.elapsed();

        // 2. what the kill left
        assert!(
            read_sheet(&wb, "IOC Tracking").is_ok(),
            "trial {trial}: the workbook must open"
        );
        let now_bytes = std::fs::read(&wb).unwrap();
        let version = if now_bytes == old_bytes {
            "old"
        } else {
            assert_complete_new(&wb, &original, trial);
            "new"
        };
        let backup = dir.path().join("ioc_tracking.bak.xlsx");
        if backup.exists() {
            assert_eq!(
                std::fs::read(&backup).unwrap(),
                old_bytes,
                "trial {trial}: the backup is the old workbook, complete"
            );
        }
        let backup_left = backup.exists();
        let temps_left = harness::temp_files(dir.path());
        let journals = harness::journals(&wb);
        assert_eq!(journals.len(), 1, "trial {trial}");
        let done_before = harness::final_outcomes(&journals[0].1);
        // a run killed after it journalled `finished` had ended: its outcomes are rightly not
        // reused (the next run is a new run)
        let ended = journals[0].1.iter().any(|r| r["event"] == "finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let counts_before = sim.counts();

        // 3. the next run resumes
        let ran = harness::run(&cfg, &wb, &[]).await;
        assert_eq!(ran.code, Some(0), "trial {trial}: {}", ran.stderr);
        let counts_after = sim.counts();
        let mut repeated = Vec::new();
        for v in &done_before {
            if counts_after.ioc(v) != counts_before.ioc(v) {
                repeated.push(v.clone());
            }
        }
        assert!(
            ended || repeated.is_empty(),
            "trial {trial} ({moment:?}): finished lookups were repeated: {repeated:?}"
        );
        // the IOCs still tracked (a kill after the rename leaves the flagged rows removed)
        // whose outcome was journalled are reused, and the run says how many
        let tracked: std::collections::BTreeSet<&str> = ran.json["iocs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|j| j["value"].as_str())
            .collect();
        let reusable = done_before
            .iter()
            .filter(|v| tracked.contains(v.as_str()))
            .count();
        if reusable > 0 && !finished_first && !ended {
            assert!(
                ran.stderr
                    .contains(&format!("resuming: {reusable} outcomes reused")),
                "trial {trial}: says how many it reused: {}",
                ran.stderr
            );
        }
        // every row that is still tracked has its score
        for j in ran.json["iocs"].as_array().unwrap() {
            assert!(j["score"].is_u64(), "trial {trial}: {j}");
        }
        assert_complete_new(&wb, &original, trial);
        let temps_after = harness::temp_files(dir.path());
        assert!(
            temps_after.is_empty(),
            "trial {trial}: temporary files left after the resumed run: {temps_after:?}"
        );
        let line = format!(
            "trial {trial}: {moment:?} → killed after {:.0} ms ({killed_at}{}); workbook {version}; backup {}; {} temp file(s) left by the kill; resumed: {} reused, {} new requests",
            elapsed.as_secs_f64() * 1000.0,
            if ended { ", run had ended" } else { "" },
            if backup_left { "intact" } else { "none" },
            temps_left.len(),
            if ended { 0 } else { reusable },
            counts_after.total - counts_before.total
        );
        eprintln!("{line}");
        summary.push(line);
    }
    let during_write = summary
        .iter()
        .filter(|l| l.contains("workbook new"))
        .count();
    eprintln!(
        "crash test: {TRIALS} kill -9 trials, seed {seed}; {during_write} left the new workbook"
    );
}

/// The workbook is a complete new version: the tracking rows are the original's minus the
/// removed ones, in order, equal outside the tool's columns, and every kept row has its Notes
/// cell; the removed rows are in `Removed IOCs`.
fn assert_complete_new(wb: &Path, original: &harness::SheetText, trial: u64) {
    let new = read_sheet(wb, "IOC Tracking").unwrap();
    assert!(
        new.col("Notes").is_some(),
        "trial {trial}: new version has Notes"
    );
    let removed = read_sheet(wb, "Removed IOCs")
        .map(|s| s.rows.len())
        .unwrap_or(0);
    assert_eq!(
        new.rows.len() + removed,
        original.rows.len(),
        "trial {trial}: no row lost"
    );
    let mut o = 0;
    for n in 0..new.rows.len() {
        let want = non_tool_columns(&new, n);
        while o < original.rows.len() && non_tool_columns(original, o) != want {
            o += 1;
        }
        assert!(
            o < original.rows.len(),
            "trial {trial}: row {} of the new workbook is not an original row: {want:?}",
            n + 2
        );
        o += 1;
    }
}
