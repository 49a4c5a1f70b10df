//! `ioc-tracker simulate [--port N] [--scenario demo|file.json]` (hidden): serve the built-in
//! VirusTotal simulator on 127.0.0.1 until Ctrl-C. Prints its base URL (for
//! `IOC_TRACKER_VT_BASE_URL`) as the only line on stdout; request counts are at `/_sim/counts`.

use super::{AppError, ExitCode};
use crate::cli::SimulateArgs;
use crate::output::Output;
use crate::vt::VtError;
use crate::vt::sim::{Scenario, Simulator};

pub async fn simulate(args: &SimulateArgs, out: &Output) -> Result<ExitCode, AppError> {
    let scenario = if args.scenario == "demo" {
        Scenario::demo()
    } else {
        Scenario::from_file(std::path::Path::new(&args.scenario))
            .map_err(|e| AppError::Usage(format!("--scenario: {e}")))?
    };
    let handle = Simulator::start_on(scenario, args.port)
        .await
        .map_err(|e| match e {
            VtError::Simulator(m) => AppError::Usage(format!("--port {}: {m}", args.port)),
            other => AppError::Vt(other),
        })?;
    out.result(&handle.base_url());
    out.info(&format!(
        "VirusTotal simulator on {} (request counts at http://{}/_sim/counts); Ctrl-C stops it",
        handle.base_url(),
        handle.addr()
    ));
    tokio::signal::ctrl_c()
        .await
        .map_err(|source| AppError::Io {
            context: "waiting for Ctrl-C".into(),
            source,
        })?;
    handle.shutdown().await;
    Ok(ExitCode::Ok)
}
