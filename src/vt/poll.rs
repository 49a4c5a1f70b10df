//! The polling schedule of one re-analysis: when to ask `GET /analyses/{id}` again. Files take
//! longer than URLs, and URLs longer than domains and IPs (VirusTotal's own samples poll a file
//! at 15 s intervals and see it complete after about 45 s), so the first poll comes later for
//! files; then the intervals grow by half each time, up to a cap, and no poll is scheduled past
//! `poll_timeout` after the submission (the last one lands on the deadline itself). Every
//! built-in delay is divided by `time_scale`; `poll_timeout` is the configured value as is.
//!
//! Pure: it computes delays, it does not sleep or send.

use std::time::Duration;

use crate::ioc::IocKind;

/// Built-in first-poll delays (before `time_scale`).
pub const FIRST_POLL_FILE: Duration = Duration::from_secs(30);
pub const FIRST_POLL_URL: Duration = Duration::from_secs(15);
pub const FIRST_POLL_HOST: Duration = Duration::from_secs(8);
/// Interval growth factor and cap (before `time_scale`).
pub const GROWTH: f64 = 1.5;
pub const MAX_INTERVAL: Duration = Duration::from_secs(30);
/// The first retry interval after the first poll (before `time_scale`).
pub const SECOND_INTERVAL: Duration = Duration::from_secs(10);

/// The schedule of one analysis, as offsets from its submission.
#[derive(Debug, Clone)]
pub struct PollSchedule {
    next_at: Duration,
    interval: Duration,
    max_interval: Duration,
    timeout: Duration,
    done: bool,
}

impl PollSchedule {
    pub fn new(kind: IocKind, poll_timeout: Duration, time_scale: f64) -> PollSchedule {
        PollSchedule::with_first(first_poll(kind, time_scale), poll_timeout, time_scale)
    }

    /// As `new`, with the first poll at `first` (already scaled), e.g. from [`Learned`].
    pub fn with_first(first: Duration, poll_timeout: Duration, time_scale: f64) -> PollSchedule {
        let scale = if time_scale > 0.0 { time_scale } else { 1.0 };
        PollSchedule {
            next_at: first.min(poll_timeout),
            interval: SECOND_INTERVAL.div_f64(scale),
            max_interval: MAX_INTERVAL.div_f64(scale),
            timeout: poll_timeout,
            done: false,
        }
    }

    /// The offset from submission of the next poll, or None when the deadline has passed.
    pub fn next_poll(&mut self) -> Option<Duration> {
        if self.done {
            return None;
        }
        let at = self.next_at;
        if at >= self.timeout {
            self.done = true;
        }
        self.next_at = (self.next_at + self.interval).min(self.timeout);
        self.interval = self.interval.mul_f64(GROWTH).min(self.max_interval);
        Some(at)
    }
}

/// The built-in first-poll delay of a kind, divided by `time_scale`.
pub fn first_poll(kind: IocKind, time_scale: f64) -> Duration {
    let scale = if time_scale > 0.0 { time_scale } else { 1.0 };
    let first = match kind {
        k if k.is_hash() => FIRST_POLL_FILE,
        IocKind::Url => FIRST_POLL_URL,
        _ => FIRST_POLL_HOST,
    };
    first.div_f64(scale)
}

/// What this run has learnt about how long analyses take, per kind class (files, URLs,
/// domains and IPs): a moving average of the poll offsets at which analyses were found
/// completed. When analyses outlast the built-in first delay, later submissions poll first
/// that much later, saving a request each; the first poll never moves earlier than the
/// built-in delay, nor later than [`LEARN_CAP`] times it.
#[derive(Debug, Clone, Default)]
pub struct Learned {
    est: [Option<f64>; 3],
}

/// How far (× the built-in delay) learning may push the first poll.
pub const LEARN_CAP: f64 = 3.0;
const ALPHA: f64 = 0.25;

impl Learned {
    fn class(kind: IocKind) -> usize {
        match kind {
            k if k.is_hash() => 0,
            IocKind::Url => 1,
            _ => 2,
        }
    }

    /// An analysis of `kind` was found completed by the poll at `offset` after submission.
    pub fn observe(&mut self, kind: IocKind, offset: Duration) {
        let e = &mut self.est[Self::class(kind)];
        let x = offset.as_secs_f64();
        *e = Some(match *e {
            None => x,
            Some(prev) => prev + ALPHA * (x - prev),
        });
    }

    /// The first-poll delay for the next analysis of `kind`.
    pub fn first_poll(&self, kind: IocKind, time_scale: f64) -> Duration {
        let builtin = first_poll(kind, time_scale);
        match self.est[Self::class(kind)] {
            Some(e) => Duration::from_secs_f64(
                e.clamp(builtin.as_secs_f64(), builtin.as_secs_f64() * LEARN_CAP),
            ),
            None => builtin,
        }
    }
}

impl Iterator for PollSchedule {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        self.next_poll()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(v: &[Duration]) -> Vec<f64> {
        v.iter().map(|d| d.as_secs_f64()).collect()
    }

    #[test]
    fn files_first_poll_later_than_urls_and_hosts() {
        let t = Duration::from_secs(100);
        let f = PollSchedule::new(IocKind::Sha256, t, 1.0)
            .next_poll()
            .unwrap();
        let u = PollSchedule::new(IocKind::Url, t, 1.0).next_poll().unwrap();
        let d = PollSchedule::new(IocKind::Domain, t, 1.0)
            .next_poll()
            .unwrap();
        let i = PollSchedule::new(IocKind::Ip, t, 1.0).next_poll().unwrap();
        assert!(f > u && u > d && d == i);
    }

    #[test]
    fn intervals_grow_and_the_last_poll_is_at_the_deadline() {
        let s: Vec<_> = PollSchedule::new(IocKind::Md5, Duration::from_secs(100), 1.0).collect();
        assert_eq!(secs(&s), vec![30.0, 40.0, 55.0, 77.5, 100.0]);
        let gaps: Vec<_> = s.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps[0] < gaps[1] && gaps[1] < gaps[2]);
        let long: Vec<_> = PollSchedule::new(IocKind::Ip, Duration::from_secs(600), 1.0).collect();
        let gaps: Vec<_> = long.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| *g <= MAX_INTERVAL));
        assert_eq!(*long.last().unwrap(), Duration::from_secs(600));
    }

    #[test]
    fn time_scale_divides_the_built_in_delays_not_the_timeout() {
        let s: Vec<_> = PollSchedule::new(IocKind::Url, Duration::from_secs(2), 10.0).collect();
        assert_eq!(secs(&s), vec![1.5, 2.0]);
    }

    #[test]
    fn a_timeout_shorter_than_the_first_delay_polls_once_at_the_deadline() {
        let s: Vec<_> = PollSchedule::new(IocKind::Sha1, Duration::from_secs(5), 1.0).collect();
        assert_eq!(secs(&s), vec![5.0]);
    }

    #[test]
    fn learning_moves_the_first_poll_later_never_earlier_and_within_the_cap() {
        let mut l = Learned::default();
        assert_eq!(l.first_poll(IocKind::Sha256, 1.0), FIRST_POLL_FILE);
        // files found completed at the second poll (40 s): the first poll moves toward it
        for _ in 0..20 {
            l.observe(IocKind::Md5, Duration::from_secs(40));
        }
        let f = l.first_poll(IocKind::Sha1, 1.0);
        assert!(
            f > Duration::from_secs(38) && f <= Duration::from_secs(40),
            "{f:?}"
        );
        // other kinds are unaffected
        assert_eq!(l.first_poll(IocKind::Domain, 1.0), FIRST_POLL_HOST);
        // quick analyses never pull it below the built-in delay
        for _ in 0..50 {
            l.observe(IocKind::Url, Duration::from_secs(1));
        }
        assert_eq!(l.first_poll(IocKind::Url, 1.0), FIRST_POLL_URL);
        // slow ones push it at most to the cap
        for _ in 0..50 {
            l.observe(IocKind::Ip, Duration::from_secs(600));
        }
        assert_eq!(l.first_poll(IocKind::Ip, 1.0), FIRST_POLL_HOST * 3);
        // scaled like the built-in delays
        assert_eq!(l.first_poll(IocKind::Ip, 10.0), (FIRST_POLL_HOST * 3) / 10);
    }

    #[tokio::test(start_paused = true)]
    async fn following_the_schedule_on_paused_time_ends_by_the_deadline() {
        let start = tokio::time::Instant::now();
        let mut polls = 0;
        for at in PollSchedule::new(IocKind::Domain, Duration::from_secs(100), 1.0) {
            tokio::time::sleep_until(start + at).await;
            polls += 1;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(100));
        assert!(polls <= 7, "{polls}");
    }
}
