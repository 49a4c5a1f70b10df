//! `lookup_all` against the built-in simulator on 127.0.0.1: every IOC kind, not found,
//! re-analysis vs. stale scores, 1 and 3 keys, cooling and rotation, daily quota running out,
//! a refused key, every injected fault, cancellation. Time is compressed (`time_scale`) so each
//! test takes about a second; every run is bounded with a timeout.

use std::time::{Duration, Instant};

use ioc_tracker::config::{Secret, Settings};
use ioc_tracker::ioc::{Ioc, IocKind};
use ioc_tracker::vt::sim::{EngineSet, Fault, Scenario, SimHandle, SimIoc, SimKey, Simulator};
use ioc_tracker::vt::{LookupOptions, LookupRun, LookupStatus, lookup_all, object_path};

const MD5: &str = "44d88612fea8a8f36de82e1278abb02f";
const SHA1: &str = "3395856ce81f2b7382dee72602f798b642f14140";
const SHA256: &str = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";
const DOMAIN: &str = "evil.example";
const IP: &str = "198.51.100.7";
const URL: &str = "http://evil.example/dropper.exe";

fn key(n: u8) -> String {
    format!("testkey{}{:0>56}", n, n)
}

fn ioc(kind: IocKind, v: &str) -> Ioc {
    Ioc::new_unchecked(kind, v)
}

fn six() -> Vec<Ioc> {
    vec![
        ioc(IocKind::Md5, MD5),
        ioc(IocKind::Sha1, SHA1),
        ioc(IocKind::Sha256, SHA256),
        ioc(IocKind::Domain, DOMAIN),
        ioc(IocKind::Ip, IP),
        ioc(IocKind::Url, URL),
    ]
}

fn prof(value: &str, before: u32, after: u32) -> SimIoc {
    SimIoc {
        value: value.into(),
        before,
        after,
        ..SimIoc::default()
    }
}

/// 100× compressed: a minute is 0.6 s, file analyses 0.25 s, the client's poll timeout 1 s.
fn scenario(keys: usize, rpm: u32, iocs: Vec<SimIoc>) -> Scenario {
    Scenario {
        keys: (1..=keys as u8)
            .map(|n| SimKey {
                key: key(n),
                requests_per_minute: None,
                daily_quota: None,
            })
            .collect(),
        requests_per_minute: rpm,
        time_scale: 100.0,
        iocs,
        ..Scenario::default()
    }
}

fn settings(sim: &SimHandle) -> Settings {
    let mut s = Settings::defaults();
    sim.scenario()
        .configure_client(&mut s.virustotal, &sim.base_url());
    s.virustotal.request_timeout = Duration::from_secs(2);
    s
}

async fn run(iocs: &[Ioc], s: &Settings) -> LookupRun {
    tokio::time::timeout(
        Duration::from_secs(30),
        lookup_all(iocs, s, LookupOptions::default()),
    )
    .await
    .expect("the run is bounded")
    .expect("setup")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_gets_its_fresh_score_in_two_requests() {
    let sim = Simulator::start(scenario(
        1,
        600,
        vec![
            prof(MD5, 1, 11),
            prof(SHA1, 0, 0),
            prof(SHA256, 4, 40),
            prof(DOMAIN, 2, 9),
            prof(IP, 7, 3),
            prof(URL, 0, 6),
        ],
    ))
    .await
    .unwrap();
    let iocs = six();
    let r = run(&iocs, &settings(&sim)).await;
    let scores: Vec<_> = r.outcomes.iter().map(|o| o.score).collect();
    assert_eq!(
        scores,
        vec![Some(11), Some(0), Some(40), Some(9), Some(3), Some(6)]
    );
    let c = sim.counts();
    for (o, i) in r.outcomes.iter().zip(&iocs) {
        assert_eq!(o.status, LookupStatus::Fresh, "{i}");
        assert_eq!(o.requests, 2, "{i}");
        assert_eq!(c.ioc(i.value()), 2, "{i}: {c:?}");
        assert!(o.analysed_at.is_some());
        assert!(!o.engines.is_empty());
    }
    assert_eq!(c.endpoint("analyse"), 6);
    assert_eq!(c.endpoint("analysis"), 6);
    assert_eq!(
        c.endpoint("object"),
        0,
        "no extra GET when the analysis has results"
    );
    assert_eq!(r.total_requests, 12);
    assert_eq!(r.keys[0].requests, 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reanalyse_reads_the_stale_score_with_one_get() {
    let sim = Simulator::start(scenario(1, 600, vec![prof(MD5, 1, 11), prof(URL, 0, 6)]))
        .await
        .unwrap();
    let mut s = settings(&sim);
    s.virustotal.reanalyse = false;
    let iocs = vec![ioc(IocKind::Md5, MD5), ioc(IocKind::Url, URL)];
    let r = run(&iocs, &s).await;
    assert_eq!(r.outcomes[0].status, LookupStatus::Current);
    assert_eq!(r.outcomes[0].score, Some(1));
    assert_eq!(r.outcomes[1].score, Some(0));
    assert_eq!(sim.counts().total, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_is_score_zero_and_distinct_and_unknown_urls_can_be_submitted() {
    let mut nf = prof(SHA256, 0, 0);
    nf.not_found = true;
    let mut nf_url = prof(URL, 0, 4);
    nf_url.not_found = true;
    let sim = Simulator::start(scenario(1, 600, vec![nf, nf_url]))
        .await
        .unwrap();
    let iocs = vec![ioc(IocKind::Sha256, SHA256), ioc(IocKind::Url, URL)];
    let r = run(&iocs, &settings(&sim)).await;
    for o in &r.outcomes {
        assert_eq!(o.status, LookupStatus::NotFound);
        assert_eq!(o.score, Some(0));
        assert_eq!(o.requests, 1);
    }
    let mut s = settings(&sim);
    s.virustotal.submit_unknown_urls = true;
    let r = run(&iocs, &s).await;
    assert_eq!(r.outcomes[0].status, LookupStatus::NotFound);
    assert_eq!(r.outcomes[1].status, LookupStatus::Fresh);
    assert_eq!(r.outcomes[1].score, Some(4));
    assert_eq!(
        r.outcomes[1].requests, 3,
        "404 analyse, POST /urls, one poll"
    );
    assert_eq!(sim.counts().endpoint("submit_url"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_skips_young_objects_and_reanalyses_old_ones() {
    let mut young = prof(DOMAIN, 3, 8);
    young.last_analysis_age_hours = 1.0;
    let mut old = prof(IP, 3, 8);
    old.last_analysis_age_hours = 72.0;
    let sim = Simulator::start(scenario(1, 600, vec![young, old]))
        .await
        .unwrap();
    let mut s = settings(&sim);
    s.virustotal.max_age = Some(Duration::from_secs(24 * 3600));
    let iocs = vec![ioc(IocKind::Domain, DOMAIN), ioc(IocKind::Ip, IP)];
    let r = run(&iocs, &s).await;
    assert_eq!(r.outcomes[0].status, LookupStatus::Current);
    assert_eq!((r.outcomes[0].score, r.outcomes[0].requests), (Some(3), 1));
    assert_eq!(r.outcomes[1].status, LookupStatus::Fresh);
    assert_eq!((r.outcomes[1].score, r.outcomes[1].requests), (Some(8), 3));
}

fn faulty(value: &str, fault: Fault) -> SimIoc {
    let mut p = prof(value, 2, 7);
    p.fault = Some(fault);
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_injected_fault_ends_as_it_should_and_the_others_are_unharmed() {
    let cases: Vec<(IocKind, &str, Fault)> = vec![
        (
            IocKind::Domain,
            "burst.example",
            Fault::Burst5xx { count: 2 },
        ),
        (IocKind::Domain, "always.example", Fault::Always5xx),
        (IocKind::Domain, "malformed.example", Fault::MalformedJson),
        (IocKind::Domain, "html.example", Fault::HtmlPage),
        (IocKind::Domain, "drop.example", Fault::DropConnection),
        (IocKind::Domain, "slow.example", Fault::Slow { ms: 1500 }),
        (IocKind::Domain, "slowok.example", Fault::Slow { ms: 50 }),
        (IocKind::Sha256, SHA256, Fault::NeverCompletes),
        (IocKind::Md5, MD5, Fault::MissingStats),
    ];
    let mut profiles: Vec<SimIoc> = cases.iter().map(|c| faulty(c.1, c.2.clone())).collect();
    profiles.push(prof("fine.example", 1, 6));
    let sim = Simulator::start(scenario(2, 6000, profiles)).await.unwrap();
    let mut s = settings(&sim);
    s.virustotal.request_timeout = Duration::from_millis(500);
    let mut iocs: Vec<Ioc> = cases.iter().map(|c| ioc(c.0, c.1)).collect();
    iocs.push(ioc(IocKind::Domain, "fine.example"));
    let t0 = Instant::now();
    let r = run(&iocs, &s).await;
    let elapsed = t0.elapsed();
    let by = |v: &str| {
        let i = iocs.iter().position(|i| i.value() == v).unwrap();
        &r.outcomes[i]
    };
    let c = sim.counts();
    // 5xx burst: retried with backoff, then fresh.
    let o = by("burst.example");
    assert_eq!(
        (o.status.clone(), o.score, o.requests),
        (LookupStatus::Fresh, Some(7), 4)
    );
    // always 5xx: max_retries (3) retries, then failed; previous score kept by the caller.
    let o = by("always.example");
    assert!(
        matches!(&o.status, LookupStatus::Failed(e) if e.contains("500")),
        "{o:?}"
    );
    assert_eq!((o.score, o.requests), (None, 4));
    // outcome unknown (malformed, HTML, dropped, timed out): the POST is sent again once only.
    for v in [
        "malformed.example",
        "html.example",
        "drop.example",
        "slow.example",
    ] {
        let o = by(v);
        assert!(matches!(o.status, LookupStatus::Failed(_)), "{v}: {o:?}");
        assert_eq!(o.requests, 2, "{v}: {o:?}");
        assert_eq!(c.ioc(v), 2, "{v}");
    }
    assert!(
        matches!(&by("malformed.example").status, LookupStatus::Failed(e) if e.contains("malformed"))
    );
    assert!(matches!(&by("html.example").status, LookupStatus::Failed(e) if e.contains("HTML")));
    assert!(
        matches!(&by("slow.example").status, LookupStatus::Failed(e) if e.contains("timed out"))
    );
    assert_eq!(by("slowok.example").status, LookupStatus::Fresh);
    // never completes: polled until poll_timeout, then the object's last known (stale) score.
    let o = by(SHA256);
    assert_eq!((o.status.clone(), o.score), (LookupStatus::Stale, Some(2)));
    assert!(o.requests >= 4 && o.requests <= 8, "{o:?}");
    assert_eq!(c.ioc(SHA256), o.requests as u64);
    // completed without stats: one GET of the (now updated) object.
    let o = by(MD5);
    assert_eq!(
        (o.status.clone(), o.score, o.requests),
        (LookupStatus::Stale, Some(7), 3)
    );
    // the healthy one is unharmed.
    let o = by("fine.example");
    assert_eq!(
        (o.status.clone(), o.score, o.requests),
        (LookupStatus::Fresh, Some(6), 2)
    );
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_is_paced_by_its_limit_and_three_keys_share_the_load() {
    // 4 requests per 0.6 s per key, in both the simulator and the client.
    let iocs: Vec<Ioc> = (0..6)
        .map(|i| ioc(IocKind::Domain, &format!("d{i}.example")))
        .collect();
    let sim1 = Simulator::start(scenario(1, 4, vec![])).await.unwrap();
    let t0 = Instant::now();
    let r1 = run(&iocs, &settings(&sim1)).await;
    let one = t0.elapsed();
    assert!(r1.outcomes.iter().all(|o| o.status == LookupStatus::Fresh));
    assert_eq!(
        sim1.counts().rate_limited,
        0,
        "the client keeps to the limit"
    );
    // 12 requests at 4 per window: at least two full windows waited
    assert!(one >= Duration::from_millis(1200), "{one:?}");

    let sim3 = Simulator::start(scenario(3, 4, vec![])).await.unwrap();
    let t0 = Instant::now();
    let r3 = run(&iocs, &settings(&sim3)).await;
    let three = t0.elapsed();
    assert!(r3.outcomes.iter().all(|o| o.status == LookupStatus::Fresh));
    let c = sim3.counts();
    assert_eq!(c.rate_limited, 0);
    assert_eq!(c.total, 12);
    for k in 1..=3 {
        assert!(c.key(k) >= 3, "every key takes a share: {c:?}");
    }
    assert!(three < one, "3 keys {three:?} vs 1 key {one:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_gets_429_cools_and_the_others_take_over() {
    // The client believes every key allows 40 per window; the simulator gives key #1 only 1.
    let mut sc = scenario(3, 40, vec![]);
    sc.keys[0].requests_per_minute = Some(1);
    let sim = Simulator::start(sc).await.unwrap();
    let iocs: Vec<Ioc> = (0..12)
        .map(|i| ioc(IocKind::Ip, &format!("192.0.2.{i}")))
        .collect();
    let r = run(&iocs, &settings(&sim)).await;
    assert!(
        r.outcomes.iter().all(|o| o.status == LookupStatus::Fresh),
        "{:?}",
        r.outcomes
    );
    let c = sim.counts();
    assert!(c.rate_limited >= 1, "{c:?}");
    assert!(c.key(2) + c.key(3) >= 20, "{c:?}");
    assert!(["cooling", "out of quota", "ok"].contains(&r.keys[0].state.as_str()));
    // 429s cost requests but never a retry: every IOC got its answer.
    assert_eq!(r.total_requests, c.total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_quota_running_out_mid_run_leaves_the_rest_not_checked() {
    let mut sc = scenario(1, 600, vec![]);
    sc.daily_quota = 5;
    let sim = Simulator::start(sc).await.unwrap();
    let iocs: Vec<Ioc> = (0..6)
        .map(|i| ioc(IocKind::Domain, &format!("q{i}.example")))
        .collect();
    // The client does not know the quota (it believes 500): the server's 429s tell it.
    let mut s = settings(&sim);
    s.virustotal.daily_quota = 500;
    let t0 = Instant::now();
    let r = run(&iocs, &s).await;
    let fresh = r
        .outcomes
        .iter()
        .filter(|o| o.status == LookupStatus::Fresh)
        .count();
    let noq = r
        .outcomes
        .iter()
        .filter(|o| o.status == LookupStatus::NoQuota)
        .count();
    assert!(fresh <= 2, "{:?}", r.outcomes);
    assert_eq!(fresh + noq, 6, "{:?}", r.outcomes);
    assert!(noq >= 4);
    assert!(
        r.outcomes
            .iter()
            .filter(|o| o.status == LookupStatus::NoQuota)
            .all(|o| o.score.is_none())
    );
    assert_eq!(r.keys[0].state, "out of quota");
    assert!(r.warnings.iter().any(|w| w.contains("key #1")));
    assert!(t0.elapsed() < Duration::from_secs(10));

    // When the client knows the quota it stops itself, without a single 429.
    let mut sc = scenario(1, 600, vec![]);
    sc.daily_quota = 5;
    let sim = Simulator::start(sc).await.unwrap();
    let r = run(&iocs, &settings(&sim)).await;
    assert_eq!(sim.counts().rate_limited, 0);
    assert_eq!(sim.counts().total, 5);
    assert!(
        r.outcomes
            .iter()
            .filter(|o| o.status == LookupStatus::NoQuota)
            .count()
            >= 3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_among_valid_ones_is_dropped_with_one_masked_warning() {
    let sim = Simulator::start(scenario(2, 600, vec![])).await.unwrap();
    let mut s = settings(&sim);
    let bad = "badkey0000000000000000000000000000000000000000000000000000009999";
    s.virustotal.api_keys = vec![Secret::new(key(1)), Secret::new(bad), Secret::new(key(2))];
    let iocs: Vec<Ioc> = (0..8)
        .map(|i| ioc(IocKind::Domain, &format!("k{i}.example")))
        .collect();
    let r = run(&iocs, &s).await;
    assert!(r.outcomes.iter().all(|o| o.status == LookupStatus::Fresh));
    assert_eq!(r.keys[1].state, "rejected");
    assert_eq!(r.keys[1].requests, 1);
    assert_eq!(sim.counts().rejected, 1);
    let w: Vec<_> = r
        .warnings
        .iter()
        .filter(|w| w.contains("refused"))
        .collect();
    assert_eq!(w.len(), 1, "{:?}", r.warnings);
    assert!(w[0].contains("key #2 (badk…9999)"), "{}", w[0]);
    let all = format!("{r:?}");
    assert!(!all.contains(bad) && !all.contains(&key(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_bad_keys_means_no_quota_for_every_ioc() {
    let sim = Simulator::start(scenario(1, 600, vec![])).await.unwrap();
    let mut s = settings(&sim);
    s.virustotal.api_keys = vec![Secret::new("wrong00000000000000000000000000001")];
    let r = run(&six(), &s).await;
    assert!(r.outcomes.iter().all(|o| o.status == LookupStatus::NoQuota));
    assert_eq!(sim.counts().total, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_iocs_are_looked_up_once_and_results_keep_input_order() {
    let sim = Simulator::start(scenario(1, 600, vec![prof(DOMAIN, 1, 5), prof(IP, 0, 0)]))
        .await
        .unwrap();
    let iocs = vec![
        ioc(IocKind::Domain, DOMAIN),
        ioc(IocKind::Ip, IP),
        ioc(IocKind::Domain, DOMAIN),
    ];
    let r = run(&iocs, &settings(&sim)).await;
    assert_eq!(r.outcomes.len(), 3);
    assert_eq!(r.outcomes[0].score, Some(5));
    assert_eq!(r.outcomes[1].score, Some(0));
    assert_eq!(r.outcomes[2], r.outcomes[0]);
    assert!(
        r.warnings.is_empty(),
        "no EDR warning without files: {:?}",
        r.warnings
    );
    assert_eq!(sim.counts().ioc(DOMAIN), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_interrupts_what_has_not_started_and_is_prompt() {
    // 1 request per 0.6 s: most IOCs are still waiting for a key when we cancel.
    let sim = Simulator::start(scenario(1, 1, vec![])).await.unwrap();
    let s = settings(&sim);
    let iocs: Vec<Ioc> = (0..10)
        .map(|i| ioc(IocKind::Domain, &format!("c{i}.example")))
        .collect();
    let opts = LookupOptions {
        grace: Duration::from_millis(200),
        ..LookupOptions::default()
    };
    let cancel = opts.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
    });
    let t0 = Instant::now();
    let r = lookup_all(&iocs, &s, opts).await.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    let interrupted = r
        .outcomes
        .iter()
        .filter(|o| o.status == LookupStatus::Interrupted)
        .count();
    assert!(interrupted >= 9, "{:?}", r.outcomes);
    assert!(
        r.outcomes
            .iter()
            .all(|o| o.status == LookupStatus::Interrupted || o.score.is_some())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_names_current_and_legacy_and_the_absent_group_warning() {
    let mut legacy = prof(MD5, 9, 9);
    legacy.engines = EngineSet::Legacy;
    legacy.detected_by = vec!["FireEye".into(), "McAfee".into()];
    let mut current = prof(SHA256, 9, 9);
    current.detected_by = vec!["TrellixENS".into()];
    let sim = Simulator::start(scenario(1, 600, vec![legacy, current]))
        .await
        .unwrap();
    let s = settings(&sim);
    let r = run(&[ioc(IocKind::Md5, MD5), ioc(IocKind::Sha256, SHA256)], &s).await;
    let e0 = &r.outcomes[0].engines;
    assert_eq!(e0["FireEye"].category, "malicious");
    assert_eq!(e0["McAfee"].category, "malicious");
    assert!(!e0.contains_key("TrellixENS"));
    let e1 = &r.outcomes[1].engines;
    assert!(!e1.contains_key("FireEye") && !e1.contains_key("McAfee"));
    assert_eq!(e1["TrellixENS"].category, "malicious");
    assert_eq!(r.outcomes[1].score, Some(9));
    assert!(
        r.warnings.is_empty(),
        "FireEye is present in one result: {:?}",
        r.warnings
    );

    // Only current names: the FireEye group is absent from every result → one warning.
    let r = run(&[ioc(IocKind::Sha256, SHA256)], &s).await;
    let w: Vec<_> = r
        .warnings
        .iter()
        .filter(|w| w.contains("FireEye"))
        .collect();
    assert_eq!(w.len(), 1, "{:?}", r.warnings);
    assert!(
        w[0].contains("Trellix (HX)") && !w[0].contains("McAfee"),
        "{}",
        w[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_speaks_the_recorded_shapes() {
    let mut legacy = prof(MD5, 3, 3);
    legacy.engines = EngineSet::Legacy;
    let sim = Simulator::start(scenario(1, 600, vec![legacy]))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let get = |path: String, k: &str| {
        http.get(format!("{}/{}", sim.base_url(), path))
            .header("x-apikey", k)
            .send()
    };
    let i = ioc(IocKind::Md5, MD5);
    let r = get(object_path(&i), &key(1)).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let a = &v["data"]["attributes"];
    assert_eq!(v["data"]["type"], "file");
    assert_eq!(a["last_analysis_stats"]["malicious"], 3);
    assert!(
        a["last_analysis_stats"]["type-unsupported"].is_number(),
        "8-key form for files"
    );
    assert_eq!(
        a["last_analysis_results"]["FireEye"]["engine_name"],
        "FireEye"
    );
    let r = get(object_path(&ioc(IocKind::Domain, DOMAIN)), &key(1))
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    let stats = v["data"]["attributes"]["last_analysis_stats"]
        .as_object()
        .unwrap();
    assert_eq!(stats.len(), 5, "5-key form for domains");
    let r = get(object_path(&i), "nope").await.unwrap();
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "WrongCredentialsError");
    let r = get("analyses/nope".into(), &key(1)).await.unwrap();
    assert_eq!(r.status(), 404);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "NotFoundError");
    let r = get("users/me/overall_quotas".into(), &key(1))
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["data"]["api_requests_daily"]["user"]["allowed"], 500);
    // 2xx bodies are gzipped when gzip is accepted; a 429 body never is (like VirusTotal).
    let raw = reqwest::Client::builder().gzip(false).build().unwrap();
    let r = raw
        .get(format!("{}/{}", sim.base_url(), object_path(&i)))
        .header("x-apikey", key(1))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(&r.bytes().await.unwrap()[..2], &[0x1f, 0x8b]);
    let counts: serde_json::Value = http
        .get(format!("http://{}/_sim/counts", sim.addr()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counts["total"], 6);
    assert_eq!(counts["rejected"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_body_that_is_not_gzipped_although_gzip_was_asked_still_decodes() {
    // key #1 allows one request per window: the second gets a plain-JSON 429.
    let mut sc = scenario(1, 600, vec![]);
    sc.keys[0].requests_per_minute = Some(1);
    let sim = Simulator::start(sc).await.unwrap();
    let s = settings(&sim);
    let client = ioc_tracker::vt::Client::new(&s.virustotal, &s.network).unwrap();
    let k = Secret::new(key(1));
    let d = ioc(IocKind::Domain, DOMAIN);
    client.object(&k, &d).await.unwrap();
    let e = client.object(&k, &d).await.unwrap_err();
    assert_eq!(
        e,
        ioc_tracker::vt::ApiError::QuotaExceeded {
            code: "QuotaExceededError".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_proxy_carries_every_request() {
    // The "proxy" is a simulator: plain-HTTP proxies get absolute-form requests, which it serves.
    let proxy = Simulator::start(scenario(1, 600, vec![prof(DOMAIN, 1, 4)]))
        .await
        .unwrap();
    let mut s = settings(&proxy);
    s.virustotal.base_url = "http://vt.invalid/api/v3".into();
    s.network.proxy = Some(format!("http://{}", proxy.addr()));
    let r = run(&[ioc(IocKind::Domain, DOMAIN)], &s).await;
    assert_eq!(
        r.outcomes[0].status,
        LookupStatus::Fresh,
        "{:?}",
        r.outcomes[0]
    );
    assert_eq!(r.outcomes[0].score, Some(4));
    assert_eq!(proxy.counts().ioc(DOMAIN), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_snapshots_count_up_to_the_total() {
    let sim = Simulator::start(scenario(1, 600, vec![])).await.unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let opts = LookupOptions {
        progress: Some(std::sync::Arc::new(
            move |p: &ioc_tracker::vt::LookupProgress| sink.lock().unwrap().push(p.clone()),
        )),
        ..LookupOptions::default()
    };
    let iocs = six();
    let r = lookup_all(&iocs, &settings(&sim), opts).await.unwrap();
    let seen = seen.lock().unwrap();
    let last = seen.last().unwrap();
    assert_eq!(
        (last.done, last.total, last.requests),
        (6, 6, r.total_requests)
    );
    assert!(seen.windows(2).all(|w| w[0].done <= w[1].done));
    assert!(seen.iter().any(|p| p.done < p.total && p.eta.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_scenario_shows_what_it_promises() {
    use ioc_tracker::rules::{Verdict, group_verdicts};
    use ioc_tracker::vt::sim::DEMO_IOCS;
    let sim = Simulator::start(Scenario::demo()).await.unwrap();
    let mut s = Settings::defaults();
    sim.scenario()
        .configure_client(&mut s.virustotal, &sim.base_url());
    let iocs: Vec<Ioc> = DEMO_IOCS
        .iter()
        .map(|(kind, value, _, _)| Ioc::parse(value, Some(kind)).unwrap())
        .collect();
    let t0 = Instant::now();
    let r = run(&iocs, &s).await;
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    let o = |i: usize| &r.outcomes[i];
    // covered by EDR: both groups detect
    let v = group_verdicts(&o(0).engines, &s.rules.edr_groups);
    assert!(matches!(v["FireEye"], Verdict::Detected { .. }), "{v:?}");
    assert!(matches!(&v["McAfee"], Verdict::Detected { engine, .. } if engine == "TrellixENS"));
    // crosses the threshold only after re-analysis
    assert_eq!(
        (o(1).status.clone(), o(1).score),
        (LookupStatus::Fresh, Some(12))
    );
    assert_eq!(o(4).score, Some(9));
    assert_eq!(o(9).score, Some(6));
    // legacy McAfee only
    let v = group_verdicts(&o(2).engines, &s.rules.edr_groups);
    assert!(matches!(&v["McAfee"], Verdict::Detected { engine, .. } if engine == "McAfee"));
    assert!(matches!(v["FireEye"], Verdict::NotDetected { .. }), "{v:?}");
    assert_eq!(o(5).status, LookupStatus::NotFound);
    // the transient 5xx recovers
    assert_eq!(
        (o(6).status.clone(), o(6).requests),
        (LookupStatus::Fresh, 4)
    );
    let fresh = r
        .outcomes
        .iter()
        .filter(|o| o.status == LookupStatus::Fresh)
        .count();
    assert_eq!(fresh, 12);
    assert_eq!(sim.counts().rate_limited, 0);
}
