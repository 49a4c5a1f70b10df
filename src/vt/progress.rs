//! The lookup's progress for a person: an indicatif bar on stderr when stderr is a terminal
//! (IOCs done/total, requests, keys cooling or out, ETA from the limits), otherwise — and never
//! with `--quiet` — a log line every so often. Hidden entirely with `--quiet`; with `--json` the
//! bar is hidden and the occasional line goes to stderr. It only displays [`LookupProgress`]
//! snapshots; it does not compute them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::lookup::{LookupProgress, ProgressFn};
use crate::output::Output;

/// How often the plain log line is written when there is no bar.
pub const LOG_EVERY: Duration = Duration::from_secs(15);

/// A progress display for one lookup run.
pub struct LookupBar {
    bar: Option<ProgressBar>,
    out: Output,
    /// (when the last line was written, whether the final line was)
    last_line: Mutex<(Option<Instant>, bool)>,
}

impl LookupBar {
    pub fn new(out: &Output, total: usize) -> Arc<LookupBar> {
        let bar = (out.stderr_tty && !out.quiet && !out.json).then(|| {
            let b = ProgressBar::with_draw_target(
                Some(total as u64),
                ProgressDrawTarget::stderr_with_hz(4),
            );
            b.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} IOCs  {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.enable_steady_tick(Duration::from_millis(250));
            b
        });
        Arc::new(LookupBar {
            bar,
            out: out.clone(),
            last_line: Mutex::new((None, false)),
        })
    }

    /// The callback to give `LookupOptions::progress`.
    pub fn callback(self: &Arc<Self>) -> ProgressFn {
        let me = self.clone();
        Arc::new(move |p: &LookupProgress| me.update(p))
    }

    pub fn update(&self, p: &LookupProgress) {
        let msg = describe(p);
        match &self.bar {
            Some(b) => {
                b.set_position(p.done as u64);
                b.set_message(msg);
            }
            None => {
                if self.out.quiet {
                    return;
                }
                let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
                let finished = p.done == p.total;
                let due = last.0.is_none_or(|t| t.elapsed() >= LOG_EVERY) || finished;
                if due && p.done > 0 && !last.1 {
                    *last = (Some(Instant::now()), finished);
                    self.out
                        .info(&format!("looked up {}/{} IOCs, {msg}", p.done, p.total));
                }
            }
        }
    }

    /// Remove the bar (call before printing results).
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// "12 requests, 1 key cooling, ETA 3m 20s"
pub fn describe(p: &LookupProgress) -> String {
    let mut parts = vec![format!(
        "{} request{}",
        p.requests,
        if p.requests == 1 { "" } else { "s" }
    )];
    if p.keys_cooling > 0 {
        parts.push(format!("{} key(s) cooling", p.keys_cooling));
    }
    if p.keys_out > 0 {
        parts.push(format!("{} key(s) out", p.keys_out));
    }
    if p.done < p.total {
        match p.eta {
            Some(eta) => parts.push(format!(
                "ETA {}",
                humantime::format_duration(Duration::from_secs(eta.as_secs()))
            )),
            None => parts.push("no usable key".into()),
        }
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_requests_keys_and_eta() {
        let p = LookupProgress {
            done: 3,
            total: 10,
            requests: 7,
            keys_usable: 1,
            keys_cooling: 1,
            keys_out: 1,
            eta: Some(Duration::from_secs(200)),
        };
        assert_eq!(
            describe(&p),
            "7 requests, 1 key(s) cooling, 1 key(s) out, ETA 3m 20s"
        );
    }
}
