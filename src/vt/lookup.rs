//! The scheduler: every IOC's flow (re-analyse → poll → result, or the stale/current/not-found
//! paths) runs as its own task, all at once, paced only by the [`KeyPool`]: a task waits for a
//! permit before each request, due polls before new submissions. Identical IOCs are looked up
//! once; outcomes come back in input order. Retries (5xx, network, malformed bodies) back off
//! exponentially with jitter up to `max_retries`; a 429 or a refused key moves the request to
//! another key without counting as a retry. A re-analysis POST whose outcome is unknown is sent
//! again at most once. Each poll schedule starts from what the run has learnt about how long
//! analyses of that kind take (`poll::Learned`), so slow analyses cost fewer polls. Cancellation: IOCs that have not sent a request end `Interrupted` at
//! once, the others get a short grace.
//!
//! It does not print: progress goes to a callback (see `progress` for the bar), warnings to
//! `tracing` and to [`LookupRun::warnings`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::client::{ApiError, Client};
use super::keys::{Feedback, KeyPool, Limits, Priority};
use super::models::Object;
use super::poll::{Learned, PollSchedule};
use super::{EngineResults, LookupStatus, Outcome, VtError};
use crate::config::{EngineGroup, Settings, VtSettings};
use crate::ioc::{Ioc, IocKind};
use crate::report::KeyUsage;
use crate::rules::{Verdict, group_verdicts};

/// A snapshot for a progress display, sent after every request and every finished IOC.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupProgress {
    /// unique IOCs finished
    pub done: usize,
    /// unique IOCs in the run
    pub total: usize,
    /// requests made so far, all keys
    pub requests: u64,
    pub keys_usable: usize,
    pub keys_cooling: usize,
    pub keys_out: usize,
    /// from the remaining IOCs, the requests they need and the keys' limits
    pub eta: Option<Duration>,
}

pub type ProgressFn = Arc<dyn Fn(&LookupProgress) + Send + Sync>;

/// How to run `lookup_all` besides the settings.
#[derive(Clone)]
pub struct LookupOptions {
    /// Cancel to stop: IOCs not started end `Interrupted`, in-flight ones get `grace`.
    pub cancel: CancellationToken,
    pub progress: Option<ProgressFn>,
    /// How long in-flight IOCs may go on after cancellation (default 3 s).
    pub grace: Duration,
    /// Called with each IOC's outcome the moment it is known (the run journal).
    pub on_outcome: Option<OutcomeFn>,
    /// Requests each key already made today (by position), from the quota state file, so the
    /// daily quota counts them.
    pub used_today: Vec<u32>,
}

/// Receives each outcome as it arrives.
pub type OutcomeFn = Arc<dyn Fn(&Ioc, &Outcome) + Send + Sync>;

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions {
            cancel: CancellationToken::new(),
            progress: None,
            grace: Duration::from_secs(3),
            on_outcome: None,
            used_today: Vec::new(),
        }
    }
}

/// What a run found: one outcome per input IOC (input order), key usage, warnings.
#[derive(Debug, Clone)]
pub struct LookupRun {
    pub outcomes: Vec<Outcome>,
    pub keys: Vec<KeyUsage>,
    pub total_requests: u64,
    /// Shown once each by the caller (they are only logged at info level here): keys dropped
    /// or out of quota, EDR groups absent from every file result.
    pub warnings: Vec<String>,
}

/// Look up every IOC (duplicates once) with the keys and limits of `settings.virustotal`.
pub async fn lookup_all(
    iocs: &[Ioc],
    settings: &Settings,
    opts: LookupOptions,
) -> Result<LookupRun, VtError> {
    let vt = &settings.virustotal;
    if vt.api_keys.is_empty() {
        return Err(VtError::NoKeys);
    }
    let client = Client::new(vt, &settings.network).map_err(|e| VtError::Setup(e.to_string()))?;
    let pool = KeyPool::new(vt.api_keys.clone(), Limits::from_settings(vt));
    pool.preset_used(&opts.used_today);
    Ok(lookup_with(iocs, client, pool, vt, &settings.rules.edr_groups, opts).await)
}

/// As [`lookup_all`], with a client and pool made by the caller.
pub async fn lookup_with(
    iocs: &[Ioc],
    client: Client,
    pool: KeyPool,
    vt: &VtSettings,
    edr_groups: &[EngineGroup],
    opts: LookupOptions,
) -> LookupRun {
    // Identical IOCs once.
    let mut first: HashMap<&Ioc, usize> = HashMap::new();
    let mut unique: Vec<Ioc> = Vec::new();
    let slot: Vec<usize> = iocs
        .iter()
        .map(|i| {
            *first.entry(i).or_insert_with(|| {
                unique.push(i.clone());
                unique.len() - 1
            })
        })
        .collect();

    let ctx = Arc::new(Ctx {
        client,
        pool,
        vt: vt.clone(),
        cancel: opts.cancel.clone(),
        grace: opts.grace,
        progress: opts.progress.clone(),
        on_outcome: opts.on_outcome.clone(),
        done: AtomicUsize::new(0),
        total: unique.len(),
        learned: std::sync::Mutex::new(Learned::default()),
    });
    let mut set = tokio::task::JoinSet::new();
    // Submissions go out in this order: the kinds whose analyses take longest first (files, then
    // URLs, then domains and IPs), so the last first-poll of the run comes as early as it can.
    let mut order: Vec<usize> = (0..unique.len()).collect();
    order.sort_by_key(|&i| {
        std::cmp::Reverse(PollSchedule::new(unique[i].kind(), vt.poll_timeout, 1.0).next_poll())
    });
    for (i, ioc) in order.into_iter().map(|i| (i, unique[i].clone())) {
        let ctx = ctx.clone();
        set.spawn(async move { (i, run_one(ctx, ioc).await) });
    }
    let mut results: Vec<Option<Outcome>> = vec![None; unique.len()];
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, o)) => results[i] = Some(o),
            Err(e) => tracing::error!("a lookup task failed: {e}"),
        }
    }
    let unique_outcomes: Vec<Outcome> = results
        .into_iter()
        .map(|o| o.unwrap_or_else(|| no_score(LookupStatus::Failed("internal error".into()), 0)))
        .collect();

    // Shown once by the caller (`Output::warn`), not logged here as warnings as well.
    let mut warnings = ctx.pool.warnings();
    // The EDR groups are about files: URL, domain and IP results never carry those engines.
    let file_outcomes: Vec<Outcome> = unique
        .iter()
        .zip(&unique_outcomes)
        .filter(|(i, _)| i.kind().is_hash())
        .map(|(_, o)| o.clone())
        .collect();
    if let Some(w) = absent_groups_warning(&file_outcomes, edr_groups) {
        tracing::info!("{w}");
        warnings.push(w);
    }
    ctx.emit();
    LookupRun {
        outcomes: slot.iter().map(|&s| unique_outcomes[s].clone()).collect(),
        keys: ctx.pool.usage(),
        total_requests: ctx.pool.total_requests(),
        warnings,
    }
}

/// A warning naming the configured EDR groups absent from every result that has engines
/// (pass the outcomes of file hashes).
pub fn absent_groups_warning(outcomes: &[Outcome], groups: &[EngineGroup]) -> Option<String> {
    let with_engines: Vec<&Outcome> = outcomes.iter().filter(|o| !o.engines.is_empty()).collect();
    if with_engines.is_empty() {
        return None;
    }
    let absent: Vec<String> = groups
        .iter()
        .filter(|g| {
            with_engines.iter().all(|o| {
                matches!(
                    group_verdicts(&o.engines, std::slice::from_ref(*g)).get(&g.name),
                    Some(Verdict::NotPresent) | None
                )
            })
        })
        .map(|g| format!("{} ({})", g.name, g.aliases.join(", ")))
        .collect();
    if absent.is_empty() {
        None
    } else {
        Some(format!(
            "engine group {} is absent from every VirusTotal result: its verdicts are \"not present\" (check [rules] edr_groups aliases)",
            absent.join(" and ")
        ))
    }
}

struct Ctx {
    client: Client,
    pool: KeyPool,
    vt: VtSettings,
    cancel: CancellationToken,
    grace: Duration,
    progress: Option<ProgressFn>,
    on_outcome: Option<OutcomeFn>,
    done: AtomicUsize,
    total: usize,
    /// how long this run's analyses take, per kind (moves first polls later)
    learned: std::sync::Mutex<Learned>,
}

impl Ctx {
    fn emit(&self) {
        let Some(cb) = &self.progress else { return };
        let (usable, cooling, out) = self.pool.key_counts();
        let done = self.done.load(Ordering::Relaxed);
        let per_ioc = if self.vt.reanalyse { 2.0 } else { 1.0 };
        let rate = self.pool.limits().rate_per_key() * (usable + cooling) as f64;
        let remaining = (self.total - done) as f64 * per_ioc;
        let eta = (rate > 0.0).then(|| Duration::from_secs_f64(remaining / rate));
        cb(&LookupProgress {
            done,
            total: self.total,
            requests: self.pool.total_requests(),
            keys_usable: usable,
            keys_cooling: cooling,
            keys_out: out,
            eta,
        });
    }

    fn backoff(&self, failures: u32) -> Duration {
        let scale = if self.vt.time_scale > 0.0 {
            self.vt.time_scale
        } else {
            1.0
        };
        let base = Duration::from_secs(1) * 2u32.saturating_pow(failures.saturating_sub(1));
        let capped = base.min(Duration::from_secs(30)).div_f64(scale);
        // "equal jitter": half fixed, half random
        capped.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

/// Why an IOC's flow stopped early.
enum Stop {
    NotFound,
    NoQuota,
    Failed(String),
}

async fn run_one(ctx: Arc<Ctx>, ioc: Ioc) -> Outcome {
    let requests = Arc::new(AtomicU32::new(0));
    let fut = flow(&ctx, &ioc, &requests);
    tokio::pin!(fut);
    let res = tokio::select! {
        biased;
        r = &mut fut => Some(r),
        _ = ctx.cancel.cancelled() => {
            if requests.load(Ordering::Relaxed) == 0 {
                None
            } else {
                tokio::time::timeout(ctx.grace, &mut fut).await.ok()
            }
        }
    };
    let n = requests.load(Ordering::Relaxed);
    let outcome = match res {
        None => no_score(LookupStatus::Interrupted, n),
        Some(Ok(mut o)) => {
            o.requests = n;
            o
        }
        Some(Err(Stop::NotFound)) => Outcome {
            status: LookupStatus::NotFound,
            score: Some(0),
            engines: EngineResults::new(),
            analysed_at: None,
            requests: n,
        },
        Some(Err(Stop::NoQuota)) => no_score(LookupStatus::NoQuota, n),
        Some(Err(Stop::Failed(e))) => {
            tracing::info!("{} {}: {e}", ioc.kind().label(), ioc.defanged());
            no_score(LookupStatus::Failed(e), n)
        }
    };
    if let Some(cb) = &ctx.on_outcome {
        cb(&ioc, &outcome);
    }
    ctx.done.fetch_add(1, Ordering::Relaxed);
    ctx.emit();
    outcome
}

fn no_score(status: LookupStatus, requests: u32) -> Outcome {
    Outcome {
        status,
        score: None,
        engines: EngineResults::new(),
        analysed_at: None,
        requests,
    }
}

fn date(secs: Option<i64>) -> Option<DateTime<Utc>> {
    secs.and_then(|s| DateTime::from_timestamp(s, 0))
}

fn from_object(o: Object, status: LookupStatus) -> Result<Outcome, Stop> {
    let a = o.attributes;
    let Some(stats) = a.last_analysis_stats else {
        return Err(Stop::Failed(
            "VirusTotal's answer lacks last_analysis_stats".into(),
        ));
    };
    Ok(Outcome {
        status,
        score: Some(stats.malicious),
        engines: a.last_analysis_results.unwrap_or_default(),
        analysed_at: date(a.last_analysis_date),
        requests: 0,
    })
}

/// One request with its permit, retries and key feedback.
async fn call<T, F, Fut>(
    ctx: &Ctx,
    priority: Priority,
    requests: &AtomicU32,
    max_unknown: u32,
    what: &str,
    mut op: F,
) -> Result<T, Stop>
where
    F: FnMut(crate::config::Secret) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let mut failures = 0u32;
    let mut unknown = 0u32;
    loop {
        let permit = ctx
            .pool
            .acquire(priority)
            .await
            .map_err(|_| Stop::NoQuota)?;
        requests.fetch_add(1, Ordering::Relaxed);
        let guard = InFlight {
            pool: &ctx.pool,
            permit: Some(permit),
        };
        let key = guard
            .permit
            .as_ref()
            .map(|p| p.key.clone())
            .expect("set above");
        let r = op(key).await;
        let feedback = match &r {
            Err(ApiError::QuotaExceeded { .. }) => Feedback::RateLimited,
            Err(ApiError::BadKey { .. }) => Feedback::Refused,
            _ => Feedback::Answered,
        };
        guard.answered(feedback);
        ctx.emit();
        let e = match r {
            Ok(v) => return Ok(v),
            Err(ApiError::NotFound) => return Err(Stop::NotFound),
            Err(ApiError::QuotaExceeded { .. } | ApiError::BadKey { .. }) => continue,
            Err(e) => e,
        };
        if !e.is_retryable() {
            return Err(Stop::Failed(format!("{what}: {e}")));
        }
        failures += 1;
        if matches!(e, ApiError::Unknown(_)) {
            unknown += 1;
        }
        if failures > ctx.vt.max_retries || unknown > max_unknown {
            let n = failures;
            return Err(Stop::Failed(format!(
                "{what}: gave up after {n} attempt{}: {e}",
                if n == 1 { "" } else { "s" }
            )));
        }
        tracing::debug!("{what}: attempt {failures} failed, retrying: {e}");
        tokio::time::sleep(ctx.backoff(failures)).await;
    }
}

/// A request in flight: reported when answered, given back if the task is dropped first.
struct InFlight<'a> {
    pool: &'a KeyPool,
    permit: Option<super::keys::Permit>,
}

impl InFlight<'_> {
    fn answered(mut self, feedback: Feedback) {
        if let Some(p) = self.permit.take() {
            self.pool.report(&p, feedback);
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.permit.take() {
            self.pool.abandon(&p);
        }
    }
}

async fn get_object(
    ctx: &Ctx,
    ioc: &Ioc,
    prio: Priority,
    requests: &AtomicU32,
) -> Result<Object, Stop> {
    let max = ctx.vt.max_retries;
    call(ctx, prio, requests, max, "GET object", |key| {
        let c = ctx.client.clone();
        let ioc = ioc.clone();
        async move { c.object(&key, &ioc).await }
    })
    .await
}

async fn flow(ctx: &Ctx, ioc: &Ioc, requests: &AtomicU32) -> Result<Outcome, Stop> {
    let vt = &ctx.vt;
    if !vt.reanalyse {
        let o = get_object(ctx, ioc, Priority::Normal, requests).await?;
        return from_object(o, LookupStatus::Current);
    }
    let submit_unknown = vt.submit_unknown_urls && ioc.kind() == IocKind::Url;
    let mut known: Option<Object> = None;
    let mut unknown_to_vt = false;
    if let Some(max_age) = vt.max_age {
        match get_object(ctx, ioc, Priority::Normal, requests).await {
            Ok(o) => {
                let fresh_enough = o
                    .attributes
                    .last_analysis_date
                    .and_then(|d| DateTime::from_timestamp(d, 0))
                    .is_some_and(|d| {
                        Utc::now()
                            .signed_duration_since(d)
                            .to_std()
                            .unwrap_or_default()
                            <= max_age
                    });
                if fresh_enough {
                    return from_object(o, LookupStatus::Current);
                }
                known = Some(o);
            }
            Err(Stop::NotFound) if submit_unknown => unknown_to_vt = true,
            Err(e) => return Err(e),
        }
    }
    let prio = if known.is_some() {
        Priority::High
    } else {
        Priority::Normal
    };
    let analysis_id = if unknown_to_vt {
        submit_url(ctx, ioc, prio, requests).await?
    } else {
        let r = call(ctx, prio, requests, 1, "POST analyse", |key| {
            let c = ctx.client.clone();
            let ioc = ioc.clone();
            async move { c.analyse(&key, &ioc).await }
        })
        .await;
        match r {
            Ok(id) => id,
            Err(Stop::NotFound) if submit_unknown => {
                submit_url(ctx, ioc, Priority::High, requests).await?
            }
            Err(e) => return Err(e),
        }
    };
    let submitted = Instant::now();
    let mut no_stats = false;
    let first = ctx
        .learned
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .first_poll(ioc.kind(), vt.time_scale);
    for at in PollSchedule::with_first(first, vt.poll_timeout, vt.time_scale) {
        tokio::time::sleep_until(submitted + at).await;
        let max = vt.max_retries;
        let a = call(ctx, Priority::High, requests, max, "GET analysis", |key| {
            let c = ctx.client.clone();
            let id = analysis_id.clone();
            async move { c.analysis(&key, &id).await }
        })
        .await;
        let a = match a {
            Ok(a) => a,
            // an analysis that vanished: fall back to the object
            Err(Stop::NotFound) => break,
            Err(e) => return Err(e),
        };
        if a.is_completed() {
            ctx.learned
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .observe(ioc.kind(), at);
            let attrs = a.attributes;
            match attrs.stats {
                Some(stats) => {
                    return Ok(Outcome {
                        status: LookupStatus::Fresh,
                        score: Some(stats.malicious),
                        engines: attrs.results.unwrap_or_default(),
                        analysed_at: date(attrs.date),
                        requests: 0,
                    });
                }
                None => {
                    no_stats = true;
                    break;
                }
            }
        }
    }
    // Not finished in time (or finished without stats): the object's last known score.
    let o = match known {
        Some(o) if !no_stats => o,
        _ => get_object(ctx, ioc, Priority::High, requests).await?,
    };
    from_object(o, LookupStatus::Stale)
}

async fn submit_url(
    ctx: &Ctx,
    ioc: &Ioc,
    prio: Priority,
    requests: &AtomicU32,
) -> Result<String, Stop> {
    call(ctx, prio, requests, 1, "POST /urls", |key| {
        let c = ctx.client.clone();
        let url = ioc.value().to_string();
        async move { c.submit_url(&key, &url).await }
    })
    .await
}
