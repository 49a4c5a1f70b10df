//! The `check` and `simulate` commands, run as the real binary against the built-in simulator
//! on 127.0.0.1 (started in-process through the library, or as `ioc-tracker simulate`).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use assert_cmd::Command;
use ioc_tracker::ioc::Ioc;
use ioc_tracker::vt::sim::{Fault, Scenario, SimHandle, SimIoc, SimKey, Simulator};

const KEY: &str = "clikey000000000000000000000000000000000000000000000000000000c1i0";

fn scenario(iocs: Vec<SimIoc>) -> Scenario {
    Scenario {
        keys: vec![SimKey {
            key: KEY.into(),
            requests_per_minute: None,
            daily_quota: None,
        }],
        requests_per_minute: 600,
        time_scale: 100.0,
        iocs,
        ..Scenario::default()
    }
}

fn prof(value: &str, before: u32, after: u32) -> SimIoc {
    SimIoc {
        value: value.into(),
        before,
        after,
        ..SimIoc::default()
    }
}

/// A config for the simulator with time compressed like the scenario.
fn config(dir: &std::path::Path, sim: &SimHandle) -> std::path::PathBuf {
    let path = dir.join("ioc-tracker.toml");
    std::fs::write(
        &path,
        format!(
            "[virustotal]\nbase_url = \"{}\"\nrequests_per_minute = 600\ntime_scale = 100.0\npoll_timeout = \"1s\"\nrate_limit_wait = \"300ms\"\nrequest_timeout = \"2s\"\n",
            sim.base_url()
        ),
    )
    .unwrap();
    path
}

fn cmd(cfg: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("ioc-tracker").unwrap();
    c.env_remove("IOC_TRACKER_CONFIG")
        .env_remove("IOC_TRACKER_VT_BASE_URL")
        .env("IOC_TRACKER_VT_KEYS", KEY)
        .arg("-c")
        .arg(cfg)
        .timeout(Duration::from_secs(30));
    c
}

fn norm(raw: &str) -> String {
    Ioc::parse(raw, None).unwrap().value().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_json_lists_every_value_in_order_and_never_sends_invalid_ones() {
    let url = norm("hxxp://evil[.]example/dropper.exe");
    let mut nf = prof("0123456789abcdef0123456789abcdef", 0, 0);
    nf.not_found = true;
    let sim = Simulator::start(scenario(vec![
        prof("44d88612fea8a8f36de82e1278abb02f", 2, 12),
        prof(&url, 0, 6),
        nf,
    ]))
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sim);
    let out = tokio::task::spawn_blocking(move || {
        cmd(&cfg)
            .args([
                "--json",
                "check",
                "44D88612FEA8A8F36DE82E1278ABB02F",
                "hxxp://evil[.]example/dropper.exe",
                "not an ioc!",
                "0123456789abcdef0123456789abcdef",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "invalid value → some not checked: {stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["value"], "44d88612fea8a8f36de82e1278abb02f");
    assert_eq!(rows[0]["kind"], "md5");
    assert_eq!(rows[0]["score"], 12);
    assert_eq!(
        rows[0]["link"],
        "https://www.virustotal.com/gui/file/44d88612fea8a8f36de82e1278abb02f"
    );
    assert_eq!(rows[0]["verdicts"]["FireEye"]["verdict"], "not_present");
    assert!(rows[0]["verdicts"]["McAfee"]["verdict"].is_string());
    assert_eq!(rows[1]["kind"], "url");
    assert_eq!(rows[1]["value"], url.as_str());
    assert_eq!(rows[1]["score"], 6);
    assert!(rows[2]["kind"].is_null() && rows[2]["score"].is_null());
    assert!(
        rows[2]["note"].as_str().unwrap().starts_with("invalid"),
        "{}",
        rows[2]
    );
    assert_eq!(rows[3]["score"], 0);
    assert_eq!(rows[3]["note"], "not found in VirusTotal");
    for r in rows {
        let keys: Vec<_> = r.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["kind", "link", "note", "score", "value", "verdicts"]);
    }
    let c = sim.counts();
    assert_eq!(
        c.total, 5,
        "2 + 2 + 1 (not found), nothing for the invalid value: {c:?}"
    );
    assert!(!stderr.contains(KEY) && !String::from_utf8_lossy(&out.stdout).contains(KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reads_stdin_prints_a_table_and_exits_0_when_all_checked() {
    let sim = Simulator::start(scenario(vec![prof("evil.example", 1, 9)]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sim);
    let out = tokio::task::spawn_blocking(move || {
        cmd(&cfg)
            .args(["check", "-"])
            .write_stdin("# a comment\nevil[.]example\n\n198.51.100.7\n")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with("IOC") && lines[0].contains("FireEye") && lines[0].contains("LINK")
    );
    assert!(
        lines[1].contains("evil[.]example") && lines[1].contains(" 9 "),
        "{stdout}"
    );
    assert!(lines[1].contains("https://www.virustotal.com/gui/domain/evil.example"));
    assert!(lines[2].contains("https://www.virustotal.com/gui/ip-address/198.51.100.7"));
    assert_eq!(sim.counts().total, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_no_reanalyse_makes_one_get_and_a_failure_exits_1() {
    let mut bad = prof("bad.example", 0, 0);
    bad.fault = Some(Fault::Always5xx);
    let sim = Simulator::start(scenario(vec![prof("old.example", 4, 9), bad]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sim);
    let out = tokio::task::spawn_blocking(move || {
        cmd(&cfg)
            .args([
                "check",
                "--json",
                "--no-reanalyse",
                "old.example",
                "bad.example",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["score"], 4, "the stale score without re-analysis");
    assert_eq!(v[0]["note"], "last analysis (not re-analysed)");
    assert!(v[1]["score"].is_null());
    assert!(
        v[1]["note"].as_str().unwrap().starts_with("not checked:"),
        "{}",
        v[1]
    );
    let c = sim.counts();
    assert_eq!(c.ioc("old.example"), 1);
    assert_eq!(c.ioc("bad.example"), 4, "1 + max_retries");
    assert_eq!(c.endpoint("analyse"), 0);
}

#[test]
fn check_without_a_key_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("empty.toml");
    std::fs::write(&cfg, "").unwrap();
    let out = Command::cargo_bin("ioc-tracker")
        .unwrap()
        .env_remove("IOC_TRACKER_VT_KEYS")
        .env_remove("IOC_TRACKER_CONFIG")
        .args(["-c", cfg.to_str().unwrap(), "check", "evil.example"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("IOC_TRACKER_VT_KEYS"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_prints_its_base_url_and_serves_counts() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("scenario.json");
    std::fs::write(
        &sc,
        serde_json::to_string(&scenario(vec![prof("evil.example", 3, 3)])).unwrap(),
    )
    .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("ioc-tracker");
    let mut child = std::process::Command::new(bin)
        .args(["simulate", "--scenario", sc.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut l = String::new();
        BufReader::new(stdout).read_line(&mut l).unwrap();
        l
    })
    .await
    .unwrap();
    let base = line.trim().to_string();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/api/v3"),
        "{base}"
    );
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{base}/domains/evil.example"))
        .header("x-apikey", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        v["data"]["attributes"]["last_analysis_stats"]["malicious"],
        3
    );
    let counts_url = base.replace("/api/v3", "/_sim/counts");
    let c: serde_json::Value = http
        .get(counts_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(c["by_ioc"]["evil.example"], 1);
    assert_eq!(c["by_key"]["key #1"], 1);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_is_warned_about_once_and_never_shown_in_full() {
    let sim = Simulator::start(scenario(vec![])).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sim);
    let bad = "refused0000000000000000000000000000000000000000000000000000zz99";
    let out = tokio::task::spawn_blocking(move || {
        cmd(&cfg)
            .env("IOC_TRACKER_VT_KEYS", format!("{bad},{KEY}"))
            .args(["check", "a.example", "b.example", "c.example"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        stderr.matches("refused by VirusTotal").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("key #1 (refu…zz99)"), "{stderr}");
    for text in [&stderr, &stdout] {
        assert!(!text.contains(bad) && !text.contains(KEY), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_interrupted_by_ctrl_c_reports_what_it_has_and_exits_130() {
    let mut sc = scenario(vec![]);
    sc.requests_per_minute = 1; // one request per 0.6 s: the run would take over 6 s
    let sim = Simulator::start(sc).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("slow.toml");
    std::fs::write(
        &cfg,
        format!(
            "[virustotal]\nbase_url = \"{}\"\nrequests_per_minute = 1\ntime_scale = 100.0\npoll_timeout = \"1s\"\n",
            sim.base_url()
        ),
    )
    .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("ioc-tracker");
    let values: Vec<String> = (0..10).map(|i| format!("int{i}.example")).collect();
    let child = std::process::Command::new(bin)
        .env_remove("IOC_TRACKER_CONFIG")
        .env("IOC_TRACKER_VT_KEYS", KEY)
        .arg("-c")
        .arg(&cfg)
        .args(["--json", "check"])
        .args(&values)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let t0 = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "prompt: {:?}",
        t0.elapsed()
    );
    assert_eq!(out.status.code(), Some(130));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 10);
    let interrupted = rows
        .iter()
        .filter(|r| r["note"] == "not checked: interrupted")
        .count();
    assert!(interrupted >= 5, "{v}");
}
