//! Ctrl-C and SIGTERM: the first stops new requests (the run then writes what it knows and exits
//! 130); the second stops at once. The workbook on disk is safe either way: it is only ever
//! replaced by an atomic rename.

use tokio_util::sync::CancellationToken;

use crate::output::Output;

/// Start listening; the token is cancelled on the first signal.
///
/// The signal listeners are made once, before the first signal, and kept: a listener made after
/// the first signal would miss a second one sent in between (tokio only delivers a signal to
/// the listeners that exist when it arrives), and the second Ctrl-C would then be lost.
pub fn on_ctrl_c(out: &Output) -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    let out = out.clone();
    let Ok(mut signals) = Signals::new() else {
        return token;
    };
    tokio::spawn(async move {
        if !signals.recv().await {
            return;
        }
        out.warn("interrupted: no new requests; writing what is known (press Ctrl-C again to stop at once)");
        cancel.cancel();
        if signals.recv().await {
            out.warn(
                "interrupted again: stopping now; the workbook on disk is unchanged or complete",
            );
            std::process::exit(super::ExitCode::Interrupted as i32);
        }
    });
    token
}

/// SIGINT and SIGTERM (Ctrl-C and Ctrl-Break elsewhere), listened to for the whole run.
#[cfg(unix)]
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// The next signal; false when no more can come.
    async fn recv(&mut self) -> bool {
        tokio::select! {
            r = self.int.recv() => r.is_some(),
            r = self.term.recv() => r.is_some(),
        }
    }
}

#[cfg(not(unix))]
struct Signals {
    c: tokio::signal::windows::CtrlC,
    brk: tokio::signal::windows::CtrlBreak,
}

#[cfg(not(unix))]
impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            c: tokio::signal::windows::ctrl_c()?,
            brk: tokio::signal::windows::ctrl_break()?,
        })
    }

    async fn recv(&mut self) -> bool {
        tokio::select! {
            r = self.c.recv() => r.is_some(),
            r = self.brk.recv() => r.is_some(),
        }
    }
}
