//! Ctrl-C and SIGTERM: the first stops new requests (the run then writes what it knows and exits
//! 130); the second stops at once. The workbook on disk is safe either way: it is only ever
//! replaced by an atomic rename.

use tokio_util::sync::CancellationToken;

use crate::output::Output;

/// Start listening; the token is cancelled on the first signal.
pub fn on_ctrl_c(out: &Output) -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    let out = out.clone();
    tokio::spawn(async move {
        if wait_for_signal().await.is_err() {
            return;
        }
        out.warn("interrupted: no new requests; writing what is known (press Ctrl-C again to stop at once)");
        cancel.cancel();
        if wait_for_signal().await.is_ok() {
            out.warn(
                "interrupted again: stopping now; the workbook on disk is unchanged or complete",
            );
            std::process::exit(super::ExitCode::Interrupted as i32);
        }
    });
    token
}

#[cfg(unix)]
async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}
