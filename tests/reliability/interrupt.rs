//! Ctrl-C and the run lock, for real: SIGINT in the middle of the lookups (exit 130, the
//! workbook written with "not checked: interrupted" for the rest, the journal finished
//! "interrupted", the next run reuses what was done), a second SIGINT that stops at once, and two
//! runs started together on one workbook (exactly one proceeds; the other exits 2 at once naming
//! the holder).

use std::process::Stdio;
use std::time::{Duration, Instant};

use ioc_tracker::vt::sim::Simulator;

use crate::common::generated;
use crate::harness::{self, by_row, finished, non_tool_columns, read_sheet};

const N: usize = 200;

fn outcomes_in_journal(wb: &std::path::Path) -> usize {
    ioc_tracker::journal::journals(wb)
        .last()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map_or(0, |t| t.matches("\"event\":\"outcome\"").count())
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_mid_run_writes_what_is_known_exits_130_and_the_next_run_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let wb = dir.path().join("ioc_tracking.xlsx");
    let rows = generated::rows(N, 11);
    generated::write(&wb, &rows, false);
    let original = read_sheet(&wb, "IOC Tracking").unwrap();
    // after-scores below the threshold: nothing removed, rows stay in place; 60 requests a
    // minute at time scale 100 = 100 a second, so the 200 IOCs are not all in flight at once
    let mut scenario = harness::scenario(&rows, |i, r| {
        harness::profile(&r.value, 0, (i % 4) as u32, None)
    });
    scenario.time_scale = 100.0;
    scenario.requests_per_minute = 60;
    let sim = Simulator::start(scenario).await.unwrap();
    let cfg = harness::config_rpm(dir.path(), &sim, 100.0, 60, "");

    let child = harness::run_cmd(&cfg, &wb, &[]).spawn().unwrap();
    let pid = child.id();
    let wb2 = wb.clone();
    let (out, grace) = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while outcomes_in_journal(&wb2) < 40 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        signal(pid, "-INT");
        let t = Instant::now();
        let out = child.wait_with_output().unwrap();
        (out, t.elapsed())
    })
    .await
    .unwrap();
    let ran = finished(out);
    assert_eq!(ran.code, Some(130), "{}", ran.stderr);
    assert!(ran.stderr.contains("interrupted"), "{}", ran.stderr);
    assert_eq!(ran.json["interrupted"], true);
    assert_eq!(ran.json["email"]["sent"], false);

    // The workbook: every row there, untouched outside the tool's columns; the ones not looked
    // up keep their score with the note.
    let new = read_sheet(&wb, "IOC Tracking").unwrap();
    assert_eq!(new.rows.len(), N);
    let iocs = by_row(&ran.json);
    let mut interrupted = 0;
    for i in 0..N {
        assert_eq!(non_tool_columns(&new, i), non_tool_columns(&original, i));
        let j = &iocs[&((i + 2) as u64)];
        let note = j["note"].as_str().unwrap();
        assert_eq!(new.cell(i, "Notes"), note);
        if note.starts_with("not checked: interrupted") {
            interrupted += 1;
            assert_eq!(
                new.cell(i, "Current Score"),
                original.cell(i, "Current Score"),
                "row {}: previous score kept",
                i + 2
            );
            assert!(new.cell(i, "Last Checked").is_empty());
        } else {
            assert_eq!(j["score"], (i % 4) as u64, "row {}: {j}", i + 2);
        }
    }
    let mut notes: Vec<&str> = iocs.values().filter_map(|j| j["note"].as_str()).collect();
    notes.sort();
    notes.dedup();
    assert!(
        interrupted > 0 && interrupted < N,
        "{interrupted} of {N} interrupted; notes {notes:?}; {}",
        ran.stderr
    );

    // The journal says so.
    let journals = harness::journals(&wb);
    let records = &journals.last().unwrap().1;
    let last = records.last().unwrap();
    assert_eq!(last["event"], "finished");
    assert_eq!(last["status"], "interrupted");
    let done = harness::final_outcomes(records);
    assert_eq!(done.len(), N - interrupted);

    // The next run reuses them and looks up only the rest.
    let before = sim.counts();
    let next = harness::run(&cfg, &wb, &[]).await;
    assert_eq!(next.code, Some(0), "{}", next.stderr);
    assert!(
        next.stderr
            .contains(&format!("resuming: {} outcomes reused", done.len())),
        "{}",
        next.stderr
    );
    let after = sim.counts();
    for v in &done {
        assert_eq!(after.ioc(v), before.ioc(v), "{v} looked up again");
    }
    let next_new = read_sheet(&wb, "IOC Tracking").unwrap();
    for i in 0..N {
        assert_eq!(next_new.cell(i, "Current Score"), format!("{}", i % 4));
    }
    eprintln!(
        "SIGINT: exit 130 after {:.0} ms; {} of {N} done before, {interrupted} interrupted; next run reused {} and made {} requests",
        grace.as_secs_f64() * 1000.0,
        done.len(),
        done.len(),
        after.total - before.total
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigint_stops_at_once_and_the_workbook_is_old_or_complete() {
    let dir = tempfile::tempdir().unwrap();
    let wb = dir.path().join("ioc_tracking.xlsx");
    let rows = generated::rows(N, 12);
    generated::write(&wb, &rows, false);
    let old = std::fs::read(&wb).unwrap();
    // every analysis slow: in-flight requests would hold the first Ctrl-C's grace
    let mut scenario = harness::scenario(&rows, |_, r| harness::profile(&r.value, 0, 1, None));
    scenario.time_scale = 20.0;
    let sim = Simulator::start(scenario).await.unwrap();
    let cfg = harness::config(dir.path(), &sim, 20.0, "");
    let child = harness::run_cmd(&cfg, &wb, &[]).spawn().unwrap();
    let pid = child.id();
    let wb2 = wb.clone();
    let (out, took) = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while outcomes_in_journal(&wb2) < 5 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        signal(pid, "-INT");
        std::thread::sleep(Duration::from_millis(30));
        let t = Instant::now();
        signal(pid, "-INT");
        let out = child.wait_with_output().unwrap();
        (out, t.elapsed())
    })
    .await
    .unwrap();
    let ran = finished(out);
    assert_eq!(ran.code, Some(130), "{}", ran.stderr);
    assert!(took < Duration::from_secs(2), "stopped after {took:?}");
    let now = std::fs::read(&wb).unwrap();
    if now != old {
        assert_eq!(read_sheet(&wb, "IOC Tracking").unwrap().rows.len(), N);
    }
    eprintln!(
        "second SIGINT: exit 130 {:.0} ms after it",
        took.as_secs_f64() * 1000.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_started_together_exactly_one_proceeds() {
    let dir = tempfile::tempdir().unwrap();
    let wb = dir.path().join("ioc_tracking.xlsx");
    let rows = generated::rows(N, 13);
    generated::write(&wb, &rows, false);
    let mut scenario = harness::scenario(&rows, |_, r| harness::profile(&r.value, 0, 1, None));
    scenario.time_scale = 100.0;
    let sim = Simulator::start(scenario).await.unwrap();
    let cfg = harness::config(dir.path(), &sim, 100.0, "");
    let (a, b) = (
        harness::run_cmd(&cfg, &wb, &[]),
        harness::run_cmd(&cfg, &wb, &[]),
    );
    let results = tokio::task::spawn_blocking(move || {
        let mut started = Vec::new();
        for mut c in [a, b] {
            c.stdout(Stdio::piped()).stderr(Stdio::piped());
            started.push((Instant::now(), c.spawn().unwrap()));
        }
        started
            .into_iter()
            .map(|(t, c)| {
                let out = c.wait_with_output().unwrap();
                (finished(out), t.elapsed())
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let (winners, losers): (Vec<_>, Vec<_>) = results.iter().partition(|(r, _)| r.code == Some(0));
    assert_eq!(winners.len(), 1, "{results:#?}");
    assert_eq!(losers.len(), 1, "{results:#?}");
    let (loser, loser_took) = losers[0];
    assert_eq!(loser.code, Some(2), "{}", loser.stderr);
    assert!(
        loser
            .stderr
            .contains("another ioc-tracker run is working on")
            && loser.stderr.contains("process ")
            && loser.stderr.contains("on host"),
        "names the holder: {}",
        loser.stderr
    );
    assert!(
        *loser_took < Duration::from_secs(3),
        "the second run stops at once: {loser_took:?}"
    );
    // only one run spent requests
    let winner = &winners[0].0;
    assert_eq!(winner.json["requests"], sim.counts().total);
    eprintln!(
        "two runs: one proceeded ({} requests), the other exited 2 after {:.0} ms: {}",
        sim.counts().total,
        loser_took.as_secs_f64() * 1000.0,
        loser
            .stderr
            .lines()
            .find(|l| l.contains("another"))
            .unwrap_or("")
    );
}
