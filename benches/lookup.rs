//! The lookup benchmark: 1,000 IOCs of mixed kinds through `lookup_all` against the built-in
//! simulator, with 1, 2 and 4 keys, the rate limits time-compressed (40 requests per second per
//! key in both the simulator and the client: 40 per minute with `time_scale = 60`, so the
//! minute is one second) and the analysis delays compressed alike. For each run it reports
//! requests per IOC (from the simulator's counts) and wall time ÷ the rate-limit bound, where the
//! bound = 2 × IOCs ÷ (keys × rate) is the time the minimum two requests per IOC need.
//!
//! Two delay profiles: "instant" (every analysis completes before its first poll; target
//! ≤ 2.05 requests per IOC) and "realistic" (files about 25 s, URLs 10 s, domains and IPs 4 s,
//! each ±60 %, compressed 60×; target ≤ 2.5). Target for wall ÷ bound: ≤ 1.10. A third
//! profile, "slow" (files 45 s, URLs 20 s, domains and IPs 10 s, ±50 %: most analyses outlast
//! their first poll), is run only when asked for with `--profile slow`.
//!
//! `cargo bench --bench lookup [-- --iocs N --keys 1,2,4 --profile instant,realistic]`
//! Prints a markdown table on stdout.
//!
//! Measured 2026-12-04 on the project's 2-core machine (release build, other helpers' builds
//! running beside it), `cargo bench --bench lookup -- --profile instant,realistic,slow`:
//!
//! | analyses | keys | requests | requests/IOC | wall (s) | bound (s) | wall ÷ bound | 429s | not fresh |
//! | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
//! | instant | 1 | 2000 | 2.000 | 49.55 | 50.00 | 0.991 | 0 | 0 |
//! | instant | 2 | 2000 | 2.000 | 24.69 | 25.00 | 0.988 | 0 | 0 |
//! | instant | 4 | 2000 | 2.000 | 12.70 | 12.50 | 1.016 | 0 | 0 |
//! | realistic | 1 | 2000 | 2.000 | 49.45 | 50.00 | 0.989 | 0 | 0 |
//! | realistic | 2 | 2008 | 2.008 | 25.13 | 25.00 | 1.005 | 0 | 0 |
//! | realistic | 4 | 2010 | 2.010 | 12.81 | 12.50 | 1.025 | 0 | 0 |
//! | slow | 1 | 2065 | 2.065 | 51.47 | 50.00 | 1.029 | 0 | 0 |
//! | slow | 2 | 2057 | 2.057 | 25.59 | 25.00 | 1.024 | 0 | 0 |
//! | slow | 4 | 2078 | 2.078 | 13.48 | 12.50 | 1.078 | 0 | 0 |
//!
//! A ratio under 1 is possible: the sliding window lets each key send its first 40 requests at
//! once, so 2 × N requests need one window less than the bound counts.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use ioc_tracker::config::Settings;
use ioc_tracker::ioc::{Ioc, IocKind};
use ioc_tracker::vt::sim::{Delays, Scenario, SimKey, Simulator};
use ioc_tracker::vt::{LookupOptions, LookupStatus, lookup_all};

const RPM: u32 = 40;
const TIME_SCALE: f64 = 60.0;

fn hex(seed: u64, len: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut s = String::with_capacity(len);
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(&format!("{x:016x}"));
    }
    s.truncate(len);
    s
}

fn iocs(n: usize) -> Vec<Ioc> {
    (0..n as u64)
        .map(|i| match i % 6 {
            0 => Ioc::new_unchecked(IocKind::Md5, hex(i, 32)),
            1 => Ioc::new_unchecked(IocKind::Sha1, hex(i, 40)),
            2 => Ioc::new_unchecked(IocKind::Sha256, hex(i, 64)),
            3 => Ioc::new_unchecked(IocKind::Domain, format!("host{i}.bench.example")),
            4 => Ioc::new_unchecked(
                IocKind::Ip,
                format!("10.{}.{}.{}", i / 65536 % 256, i / 256 % 256, i % 256),
            ),
            _ => Ioc::new_unchecked(IocKind::Url, format!("http://site{i}.bench.example/p/{i}")),
        })
        .collect()
}

struct Row {
    profile: &'static str,
    keys: usize,
    requests: u64,
    per_ioc: f64,
    wall: Duration,
    bound: f64,
    rate_limited: u64,
    not_fresh: usize,
}

async fn one(profile: &'static str, keys: usize, list: &[Ioc]) -> Row {
    let delays = match profile {
        "instant" => Delays {
            file_ms: 0,
            url_ms: 0,
            host_ms: 0,
            jitter: 0.0,
        },
        "slow" => Delays {
            file_ms: 45_000,
            url_ms: 20_000,
            host_ms: 10_000,
            jitter: 0.5,
        },
        _ => Delays {
            jitter: 0.6,
            ..Delays::default()
        },
    };
    let scenario = Scenario {
        keys: (0..keys)
            .map(|k| SimKey {
                key: format!("benchkey{k:0>56}"),
                requests_per_minute: None,
                daily_quota: None,
            })
            .collect(),
        requests_per_minute: RPM,
        daily_quota: 1_000_000,
        time_scale: TIME_SCALE,
        analysis_delays: delays,
        ..Scenario::default()
    };
    let sim = Simulator::start(scenario).await.expect("simulator");
    let mut s = Settings::defaults();
    sim.scenario()
        .configure_client(&mut s.virustotal, &sim.base_url());
    let t0 = Instant::now();
    let run = lookup_all(list, &s, LookupOptions::default())
        .await
        .expect("lookup");
    let wall = t0.elapsed();
    let c = sim.counts();
    let rate = RPM as f64 / 60.0 * TIME_SCALE;
    Row {
        profile,
        keys,
        requests: c.total,
        per_ioc: c.total as f64 / list.len() as f64,
        wall,
        bound: 2.0 * list.len() as f64 / (keys as f64 * rate),
        rate_limited: c.rate_limited,
        not_fresh: run
            .outcomes
            .iter()
            .filter(|o| o.status != LookupStatus::Fresh)
            .count(),
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let n: usize = arg("--iocs").and_then(|v| v.parse().ok()).unwrap_or(1000);
    let keys: Vec<usize> = arg("--keys")
        .unwrap_or_else(|| "1,2,4".into())
        .split(',')
        .filter_map(|k| k.trim().parse().ok())
        .collect();
    let profiles: Vec<&'static str> = arg("--profile")
        .unwrap_or_else(|| "instant,realistic".into())
        .split(',')
        .filter_map(|p| match p.trim() {
            "instant" => Some("instant"),
            "realistic" => Some("realistic"),
            "slow" => Some("slow"),
            _ => None,
        })
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let list = iocs(n);
    println!(
        "{n} IOCs (md5/sha1/sha256/domain/ip/url), {} req/s per key ({RPM}/min, time_scale {TIME_SCALE})\n",
        RPM as f64 / 60.0 * TIME_SCALE
    );
    println!(
        "| analyses | keys | requests | requests/IOC | wall (s) | bound (s) | wall ÷ bound | 429s | not fresh |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for p in &profiles {
        for &k in &keys {
            let r = rt.block_on(one(p, k, &list));
            println!(
                "| {} | {} | {} | {:.3} | {:.2} | {:.2} | {:.3} | {} | {} |",
                r.profile,
                r.keys,
                r.requests,
                r.per_ioc,
                r.wall.as_secs_f64(),
                r.bound,
                r.wall.as_secs_f64() / r.bound,
                r.rate_limited,
                r.not_fresh
            );
        }
    }
}
