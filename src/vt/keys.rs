//! The key pool: per API key a sliding-window limiter (`requests_per_minute`), a daily quota
//! counter, a cooling period after a 429 and a state; `acquire` hands out one request's worth of
//! capacity from whichever key has it, due polls first. Built on `tokio::time` so tests run on
//! tokio's paused clock (governor's timers ignore it).
//!
//! The window counts a request from its grant until `window` after its answer, so latency can
//! never make the server see more than `requests_per_minute` in its own window.
//!
//! Policy, in one place ([`KeyPool::report`]):
//! - 429: the key cools for `rate_limit_wait`; the request goes at once to another key. A key that
//!   gets [`OUT_AFTER_429S`] 429s in a row although its own limiter had capacity is out of quota
//!   for the rest of the run. 429s to requests sent before the previous 429 came back are one
//!   burst and count once.
//! - 401/403: the key is dropped, with one warning naming it `key #2 (abcd…wxyz)`.
//! - A key not yet answered (its first request in flight) gets no second request until that
//!   answer: a wrong key costs one request, not one per IOC in flight.
//! - `acquire` waits for the earliest key with capacity; it returns [`NoKeys`] as soon as no key
//!   can ever be used again in this run. Every wait is bounded by the window or a cooling period.
//!
//! The pool does not send requests nor retry them: `lookup` does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use crate::config::Secret;
use crate::report::KeyUsage;

/// Consecutive 429s (limiter had capacity each time) after which a key is out for the run.
pub const OUT_AFTER_429S: u32 = 3;

/// Who waits: polls that are due go before new submissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// a due poll or the GET that finishes an IOC
    High,
    /// a new submission
    Normal,
}

/// One request's worth of capacity on one key.
#[derive(Debug, Clone)]
pub struct Permit {
    /// 0-based position in the configured key list
    pub index: usize,
    pub key: Secret,
    /// the limiter slot this request holds
    slot: u64,
    granted: Instant,
}

/// No key can be used any more in this run (all out of quota or refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no usable API key left (all out of quota or refused)")]
pub struct NoKeys;

/// What the server said to a request made with a permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    /// any answer that is not about the key (2xx, 404, 5xx, network)
    Answered,
    /// 429
    RateLimited,
    /// 401 / 403
    Refused,
}

/// The limits of every key.
#[derive(Debug, Clone)]
pub struct Limits {
    pub requests_per_minute: u32,
    pub daily_quota: u32,
    pub rate_limit_wait: Duration,
    /// The limiter's window: one minute divided by `time_scale` (for time-compressed runs).
    pub window: Duration,
}

impl Limits {
    pub fn from_settings(vt: &crate::config::VtSettings) -> Limits {
        let scale = if vt.time_scale > 0.0 {
            vt.time_scale
        } else {
            1.0
        };
        Limits {
            requests_per_minute: vt.requests_per_minute.max(1),
            daily_quota: vt.daily_quota,
            rate_limit_wait: vt.rate_limit_wait,
            window: Duration::from_secs_f64(60.0 / scale),
        }
    }

    /// Requests per second all keys can make together, for ETAs.
    pub fn rate_per_key(&self) -> f64 {
        self.requests_per_minute as f64 / self.window.as_secs_f64()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ok,
    OutOfQuota,
    Refused,
}

#[derive(Debug)]
struct KeyState {
    key: Secret,
    /// Requests in the window: in flight (`None`) or answered at that instant. A request
    /// stays in the window until `window` after its *answer*, which is never earlier than the
    /// server saw it: however long a request takes, the server never sees more than
    /// `requests_per_minute` in its own window.
    slots: Vec<(u64, Option<Instant>)>,
    /// when the last 429 that started a cooling came back
    last_429: Option<Instant>,
    used: u32,
    requests: u64,
    cool_until: Option<Instant>,
    consecutive_429: u32,
    state: State,
    in_flight: u32,
    /// answered at least once (2xx, 404, 429, 5xx): the key itself is accepted
    proven: bool,
}

enum Availability {
    Now(usize),
    At(Instant),
    /// only keys waiting for their first answer: look again when it comes
    OnAnswer,
    Never,
}

struct Waiter {
    tx: oneshot::Sender<Result<Permit, NoKeys>>,
}

struct Inner {
    keys: Vec<KeyState>,
    limits: Limits,
    high: VecDeque<Waiter>,
    normal: VecDeque<Waiter>,
    closed: bool,
    /// warnings to show once (dropped keys, keys out of quota)
    warned: Vec<String>,
    next_slot: u64,
}

impl Inner {
    fn availability(&mut self, now: Instant) -> Availability {
        let window = self.limits.window;
        let rpm = self.limits.requests_per_minute as usize;
        let mut earliest: Option<Instant> = None;
        let mut on_answer = false;
        let mut best: Option<(usize, usize, u64)> = None; // (index, free slots, requests)
        for (i, k) in self.keys.iter_mut().enumerate() {
            if k.state != State::Ok {
                continue;
            }
            if k.used >= self.limits.daily_quota {
                k.state = State::OutOfQuota;
                continue;
            }
            if !k.proven && k.in_flight > 0 {
                on_answer = true;
                continue;
            }
            k.slots
                .retain(|(_, done)| done.is_none_or(|t| t + window > now));
            let mut at = now;
            if let Some(c) = k.cool_until {
                if c > now {
                    at = at.max(c);
                } else {
                    k.cool_until = None;
                }
            }
            if k.slots.len() >= rpm {
                // the (len − rpm + 1)-th slot to expire frees the capacity; in-flight ones
                // expire only after their answer (which wakes the dispatcher)
                let mut ends: Vec<Instant> = k
                    .slots
                    .iter()
                    .filter_map(|(_, d)| d.map(|t| t + window))
                    .collect();
                ends.sort();
                match ends.get(k.slots.len() - rpm) {
                    Some(t) => at = at.max(*t),
                    None => {
                        on_answer = true;
                        continue;
                    }
                }
            }
            if at <= now {
                let free = rpm - k.slots.len();
                // Most free slots first, then the least used key: spreads the load evenly.
                let better = match best {
                    None => true,
                    Some((_, f, r)) => free > f || (free == f && k.requests < r),
                };
                if better {
                    best = Some((i, free, k.requests));
                }
            } else {
                earliest = Some(earliest.map_or(at, |e| e.min(at)));
            }
        }
        match (best, earliest) {
            (Some((i, _, _)), _) => Availability::Now(i),
            (None, Some(t)) => Availability::At(t),
            (None, None) if on_answer => Availability::OnAnswer,
            (None, None) => Availability::Never,
        }
    }

    fn take(&mut self, i: usize, now: Instant) -> Permit {
        self.next_slot += 1;
        let slot = self.next_slot;
        let k = &mut self.keys[i];
        k.slots.push((slot, None));
        k.used += 1;
        k.requests += 1;
        k.in_flight += 1;
        Permit {
            index: i,
            key: k.key.clone(),
            slot,
            granted: now,
        }
    }

    fn untake(&mut self, i: usize) {
        let k = &mut self.keys[i];
        k.slots.pop();
        k.used -= 1;
        k.requests -= 1;
        k.in_flight -= 1;
    }

    fn pop_waiter(&mut self) -> Option<Waiter> {
        self.high.pop_front().or_else(|| self.normal.pop_front())
    }

    fn has_waiters(&self) -> bool {
        !self.high.is_empty() || !self.normal.is_empty()
    }

    /// Serve waiters while a key has capacity; returns when to look again.
    fn dispatch(&mut self, now: Instant) -> Option<Instant> {
        loop {
            if !self.has_waiters() {
                return None;
            }
            match self.availability(now) {
                Availability::Now(i) => {
                    let w = self.pop_waiter().expect("checked above");
                    if w.tx.is_closed() {
                        continue;
                    }
                    let p = self.take(i, now);
                    if w.tx.send(Ok(p)).is_err() {
                        self.untake(i);
                    }
                }
                Availability::At(t) => return Some(t),
                Availability::OnAnswer => return None,
                Availability::Never => {
                    while let Some(w) = self.pop_waiter() {
                        let _ = w.tx.send(Err(NoKeys));
                    }
                    return None;
                }
            }
        }
    }
}

struct Shared {
    inner: Mutex<Inner>,
    wake: Notify,
}

/// The pool of API keys. Create it inside a tokio runtime (it spawns its dispatcher); dropping
/// the pool stops the dispatcher.
pub struct KeyPool {
    shared: Arc<Shared>,
}

impl KeyPool {
    /// Count requests the keys made earlier today (by position; from the quota state file)
    /// against their daily quota.
    pub fn preset_used(&self, used: &[u32]) {
        let mut inner = self.shared.inner.lock().unwrap_or_else(|e| e.into_inner());
        for (k, &n) in inner.keys.iter_mut().zip(used) {
            k.used = k.used.max(n);
        }
        drop(inner);
        self.shared.wake.notify_waiters();
    }

    pub fn new(keys: Vec<Secret>, limits: Limits) -> KeyPool {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                keys: keys
                    .into_iter()
                    .map(|key| KeyState {
                        key,
                        slots: Vec::new(),
                        last_429: None,
                        used: 0,
                        requests: 0,
                        cool_until: None,
                        consecutive_429: 0,
                        state: State::Ok,
                        in_flight: 0,
                        proven: false,
                    })
                    .collect(),
                limits,
                high: VecDeque::new(),
                normal: VecDeque::new(),
                closed: false,
                warned: Vec::new(),
                next_slot: 0,
            }),
            wake: Notify::new(),
        });
        tokio::spawn(dispatcher(shared.clone()));
        KeyPool { shared }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for one request's worth of capacity on the key that has it first.
    /// `Err(NoKeys)` once no key can be used again in this run.
    pub async fn acquire(&self, priority: Priority) -> Result<Permit, NoKeys> {
        let (tx, rx) = oneshot::channel();
        {
            let mut g = self.lock();
            let w = Waiter { tx };
            match priority {
                Priority::High => g.high.push_back(w),
                Priority::Normal => g.normal.push_back(w),
            }
        }
        self.shared.wake.notify_one();
        rx.await.unwrap_or(Err(NoKeys))
    }

    /// Tell the pool how a request made with `permit` was answered.
    pub fn report(&self, permit: &Permit, feedback: Feedback) {
        let mut g = self.lock();
        let now = Instant::now();
        let wait = g.limits.rate_limit_wait;
        let k = &mut g.keys[permit.index];
        k.in_flight = k.in_flight.saturating_sub(1);
        if let Some(s) = k.slots.iter_mut().find(|(id, _)| *id == permit.slot) {
            s.1 = Some(now);
        }
        if feedback != Feedback::Refused {
            k.proven = true;
        }
        let mut warning = None;
        match feedback {
            Feedback::Answered => k.consecutive_429 = 0,
            // A 429 for a request sent before the previous 429 came back belongs to the same
            // burst: the key is already cooling, it does not count again.
            Feedback::RateLimited if k.last_429.is_some_and(|t| permit.granted <= t) => {}
            Feedback::RateLimited => {
                k.consecutive_429 += 1;
                k.last_429 = Some(now);
                if k.consecutive_429 >= OUT_AFTER_429S && k.state == State::Ok {
                    k.state = State::OutOfQuota;
                    warning = Some(format!(
                        "key #{} ({}) keeps getting 429 although under its rate limit: treated as out of daily quota for this run",
                        permit.index + 1,
                        k.key.masked()
                    ));
                } else {
                    k.cool_until = Some(now + wait);
                }
            }
            Feedback::Refused => {
                if k.state != State::Refused {
                    k.state = State::Refused;
                    warning = Some(format!(
                        "key #{} ({}) was refused by VirusTotal (wrong or disabled key): not used again in this run",
                        permit.index + 1,
                        k.key.masked()
                    ));
                }
            }
        }
        if let Some(w) = warning {
            // shown to the person once by the caller, from `LookupRun::warnings`
            tracing::info!("{w}");
            g.warned.push(w);
        }
        drop(g);
        self.shared.wake.notify_one();
    }

    /// Give back a permit whose request was abandoned before its answer (the task was
    /// cancelled): its slot counts from now, the key is neither proven nor blamed.
    pub fn abandon(&self, permit: &Permit) {
        let mut g = self.lock();
        let now = Instant::now();
        let k = &mut g.keys[permit.index];
        k.in_flight = k.in_flight.saturating_sub(1);
        if let Some(s) = k.slots.iter_mut().find(|(id, _)| *id == permit.slot) {
            s.1 = Some(now);
        }
        drop(g);
        self.shared.wake.notify_one();
    }

    /// The warnings given so far (dropped keys, keys out of quota), for the report.
    pub fn warnings(&self) -> Vec<String> {
        self.lock().warned.clone()
    }

    /// Requests per key and each key's state, for the report.
    pub fn usage(&self) -> Vec<KeyUsage> {
        let now = Instant::now();
        self.lock()
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| KeyUsage {
                key: format!("key #{} ({})", i + 1, k.key.masked()),
                requests: k.requests,
                state: match k.state {
                    State::Refused => "rejected",
                    State::OutOfQuota => "out of quota",
                    State::Ok if k.cool_until.is_some_and(|c| c > now) => "cooling",
                    State::Ok => "ok",
                }
                .to_string(),
            })
            .collect()
    }

    /// (usable, cooling, out) key counts for the progress display.
    pub fn key_counts(&self) -> (usize, usize, usize) {
        let now = Instant::now();
        let g = self.lock();
        let mut c = (0, 0, 0);
        for k in &g.keys {
            match k.state {
                State::Ok if k.cool_until.is_some_and(|t| t > now) => c.1 += 1,
                State::Ok => c.0 += 1,
                _ => c.2 += 1,
            }
        }
        c
    }

    /// Requests made so far, all keys.
    pub fn total_requests(&self) -> u64 {
        self.lock().keys.iter().map(|k| k.requests).sum()
    }

    pub fn limits(&self) -> Limits {
        self.lock().limits.clone()
    }
}

impl Drop for KeyPool {
    fn drop(&mut self) {
        self.lock().closed = true;
        self.shared.wake.notify_one();
    }
}

async fn dispatcher(shared: Arc<Shared>) {
    loop {
        let next = {
            let mut g = shared.inner.lock().unwrap_or_else(|e| e.into_inner());
            if g.closed {
                while let Some(w) = g.pop_waiter() {
                    let _ = w.tx.send(Err(NoKeys));
                }
                return;
            }
            g.dispatch(Instant::now())
        };
        match next {
            Some(t) => {
                tokio::select! {
                    _ = shared.wake.notified() => {}
                    _ = tokio::time::sleep_until(t) => {}
                }
            }
            None => shared.wake.notified().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Secret {
        Secret::new(format!("{}{}", (n as char).to_string().repeat(60), "WXYZ"))
    }

    /// Acquire and report an ordinary answer (as `lookup` does after each request).
    async fn ok(p: &KeyPool, prio: Priority) -> Permit {
        let permit = p.acquire(prio).await.unwrap();
        p.report(&permit, Feedback::Answered);
        permit
    }

    fn pool(n: usize, rpm: u32, quota: u32) -> KeyPool {
        KeyPool::new(
            (0..n).map(|i| key(b'a' + i as u8)).collect(),
            Limits {
                requests_per_minute: rpm,
                daily_quota: quota,
                rate_limit_wait: Duration::from_secs(30),
                window: Duration::from_secs(60),
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn one_key_gives_rpm_requests_per_window_then_waits_for_the_window() {
        let p = pool(1, 4, 500);
        let t0 = Instant::now();
        for _ in 0..4 {
            ok(&p, Priority::Normal).await;
        }
        assert_eq!(Instant::now(), t0, "the first 4 need no wait");
        ok(&p, Priority::Normal).await;
        let waited = Instant::now() - t0;
        assert!(
            waited >= Duration::from_secs(60) && waited <= Duration::from_millis(61_300),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn three_keys_rotate_and_triple_the_rate() {
        let p = pool(3, 4, 500);
        let t0 = Instant::now();
        let mut idx = Vec::new();
        for _ in 0..12 {
            idx.push(ok(&p, Priority::Normal).await.index);
        }
        assert_eq!(Instant::now(), t0);
        for i in 0..3 {
            assert_eq!(idx.iter().filter(|&&x| x == i).count(), 4, "{idx:?}");
        }
        // spread: the first three requests go to three different keys
        let mut first = idx[..3].to_vec();
        first.sort();
        assert_eq!(first, vec![0, 1, 2]);
        let u = p.usage();
        assert_eq!(u[1].key, format!("key #2 ({})", key(b'b').masked()));
        assert_eq!(u.iter().map(|k| k.requests).sum::<u64>(), 12);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_cools_the_key_and_the_request_goes_to_another_at_once() {
        let p = pool(2, 4, 500);
        let a = p.acquire(Priority::Normal).await.unwrap();
        p.report(&a, Feedback::RateLimited);
        let t0 = Instant::now();
        for _ in 0..3 {
            let b = ok(&p, Priority::Normal).await;
            assert_ne!(b.index, a.index);
        }
        assert_eq!(Instant::now(), t0);
        assert_eq!(p.key_counts(), (1, 1, 0));
        assert_eq!(p.usage()[a.index].state, "cooling");
        // the other key is now full (4 in its window): the next waits for the cooling (30 s)
        ok(&p, Priority::Normal).await;
        let b = ok(&p, Priority::Normal).await;
        assert_eq!(b.index, a.index);
        assert_eq!(Instant::now() - t0, Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_429s_under_the_limit_mean_out_of_quota_then_no_keys() {
        let p = pool(1, 100, 500);
        for _ in 0..OUT_AFTER_429S {
            let k = p.acquire(Priority::Normal).await.unwrap();
            p.report(&k, Feedback::RateLimited);
        }
        assert_eq!(p.acquire(Priority::Normal).await.unwrap_err(), NoKeys);
        assert_eq!(p.usage()[0].state, "out of quota");
        assert_eq!(p.warnings().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_between_429s_resets_the_count() {
        let p = pool(1, 100, 500);
        for _ in 0..5 {
            let k = p.acquire(Priority::Normal).await.unwrap();
            p.report(&k, Feedback::RateLimited);
            ok(&p, Priority::Normal).await;
        }
        assert_eq!(p.usage()[0].state, "ok");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_key_is_dropped_with_one_masked_warning() {
        let p = pool(2, 4, 500);
        let k = p.acquire(Priority::Normal).await.unwrap();
        p.report(&k, Feedback::Refused);
        p.report(&k, Feedback::Refused);
        let w = p.warnings();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains(&format!("key #{} (", k.index + 1)), "{w:?}");
        assert!(w[0].contains('…') && !w[0].contains(k.key.expose()));
        for _ in 0..8 {
            assert_ne!(ok(&p, Priority::Normal).await.index, k.index);
        }
        assert_eq!(p.usage()[k.index].state, "rejected");
    }

    #[tokio::test(start_paused = true)]
    async fn daily_quota_runs_out_then_no_keys() {
        let p = pool(2, 1000, 3);
        for _ in 0..6 {
            ok(&p, Priority::Normal).await;
        }
        assert_eq!(p.acquire(Priority::High).await.unwrap_err(), NoKeys);
        assert!(p.usage().iter().all(|u| u.state == "out of quota"));
    }

    #[tokio::test(start_paused = true)]
    async fn due_polls_go_before_new_submissions() {
        let p = Arc::new(pool(1, 1, 500));
        ok(&p, Priority::Normal).await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // two submissions wait first, then a poll
        for (name, prio) in [("s1", Priority::Normal), ("s2", Priority::Normal)] {
            let (p, tx) = (p.clone(), tx.clone());
            tokio::spawn(async move {
                ok(&p, prio).await;
                tx.send(name).unwrap();
            });
            tokio::task::yield_now().await;
        }
        let (p2, tx2) = (p.clone(), tx.clone());
        tokio::spawn(async move {
            ok(&p2, Priority::High).await;
            tx2.send("poll").unwrap();
        });
        tokio::task::yield_now().await;
        assert_eq!(rx.recv().await, Some("poll"));
        assert_eq!(rx.recv().await, Some("s1"));
        assert_eq!(rx.recv().await, Some("s2"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_gets_no_second_request_before_its_first_answer() {
        let p = Arc::new(pool(1, 100, 500));
        let first = p.acquire(Priority::Normal).await.unwrap();
        let p2 = p.clone();
        let second = tokio::spawn(async move { p2.acquire(Priority::Normal).await });
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert!(
            !second.is_finished(),
            "no second request before the first answer"
        );
        p.report(&first, Feedback::Answered);
        assert_eq!(second.await.unwrap().unwrap().index, 0);
        // once answered, the key serves many at once
        for _ in 0..5 {
            p.acquire(Priority::Normal).await.unwrap();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_first_answer_frees_the_waiters_with_no_keys() {
        let p = Arc::new(pool(1, 100, 500));
        let first = p.acquire(Priority::Normal).await.unwrap();
        let p2 = p.clone();
        let second = tokio::spawn(async move { p2.acquire(Priority::Normal).await });
        tokio::task::yield_now().await;
        p.report(&first, Feedback::Refused);
        assert_eq!(second.await.unwrap().unwrap_err(), NoKeys);
        assert_eq!(p.total_requests(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_request_holds_its_slot_until_a_window_after_its_answer() {
        let p = pool(1, 2, 500);
        let t0 = Instant::now();
        ok(&p, Priority::Normal).await;
        let slow = p.acquire(Priority::Normal).await.unwrap();
        tokio::time::sleep(Duration::from_secs(50)).await;
        p.report(&slow, Feedback::Answered); // answered at t0 + 50 s
        ok(&p, Priority::Normal).await; // the first slot frees at t0 + 60 s
        assert_eq!(Instant::now() - t0, Duration::from_secs(60));
        ok(&p, Priority::Normal).await; // the slow one's slot frees at t0 + 110 s
        assert_eq!(Instant::now() - t0, Duration::from_secs(110));
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_429s_counts_once() {
        let p = pool(1, 100, 500);
        ok(&p, Priority::Normal).await;
        let burst: Vec<Permit> = futures_burst(&p, 10).await;
        for b in &burst {
            p.report(b, Feedback::RateLimited);
        }
        assert_eq!(p.usage()[0].state, "cooling");
        assert!(p.warnings().is_empty());
        ok(&p, Priority::Normal).await;
        assert_eq!(p.usage()[0].state, "ok");
    }

    async fn futures_burst(p: &KeyPool, n: usize) -> Vec<Permit> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(p.acquire(Priority::Normal).await.unwrap());
        }
        v
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_first_request_does_not_block_the_key() {
        let p = pool(1, 100, 500);
        let first = p.acquire(Priority::Normal).await.unwrap();
        p.abandon(&first);
        ok(&p, Priority::Normal).await;
        assert_eq!(p.total_requests(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn no_keys_at_all_fails_at_once() {
        let p = pool(0, 4, 500);
        assert_eq!(p.acquire(Priority::Normal).await.unwrap_err(), NoKeys);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_that_gave_up_does_not_consume_capacity() {
        let p = pool(1, 1, 500);
        ok(&p, Priority::Normal).await;
        let r = tokio::time::timeout(Duration::from_secs(1), p.acquire(Priority::Normal)).await;
        assert!(r.is_err());
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(p.total_requests(), 1);
    }
}
