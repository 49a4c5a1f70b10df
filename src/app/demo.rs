//! `ioc-tracker demo`: the whole `run` pipeline on a copy of the bundled sample workbook, against
//! the built-in VirusTotal simulator on 127.0.0.1 with a scenario made for it (time-compressed),
//! writing the updated workbook, its backup, the report and the alert email (.eml) into the demo
//! folder. No keys, no network, no configuration: it ignores the config file's VirusTotal and
//! email settings so that it behaves the same on every machine.

use std::path::Path;

use super::run::{EmailMode, RunOptions, execute};
use super::{AppError, ExitCode};
use crate::cli::DemoArgs;
use crate::config::Settings;
use crate::output::Output;
use crate::prompt::Decider;
use crate::vt::sim::{Scenario, Simulator};

/// The sample workbook, carried in the binary so the demo works from any folder.
const SAMPLE: &[u8] = include_bytes!("../../fixtures/sample_ioc_tracking.xlsx");

pub async fn demo(
    _settings: &Settings,
    args: &DemoArgs,
    out: &Output,
) -> Result<ExitCode, AppError> {
    let dir = &args.out;
    let io = |context: String| move |source| AppError::Io { context, source };
    std::fs::create_dir_all(dir).map_err(io(format!(
        "cannot create the demo folder {}",
        dir.display()
    )))?;
    let workbook = dir.join("ioc_tracking.xlsx");
    std::fs::write(&workbook, SAMPLE).map_err(io(format!(
        "cannot write the sample workbook to {}",
        workbook.display()
    )))?;

    let sim = Simulator::start(Scenario::demo()).await?;
    out.info(&format!(
        "demo: the sample workbook is {}; VirusTotal is the built-in simulator at {} (time-compressed limits)",
        workbook.display(),
        sim.base_url()
    ));
    let settings = demo_settings(dir, &sim);
    let opts = RunOptions {
        workbook: workbook.clone(),
        report: None,
        dry_run: false,
        decider: Decider::from_flags(args.yes, args.no),
        email: EmailMode::Eml(dir.join("ioc-alert.eml")),
        fresh: true,
    };
    let cancel = super::interrupt::on_ctrl_c(out);
    let result = execute(&settings, &opts, out, cancel).await;
    let counts = sim.counts();
    sim.shutdown().await;
    let summary = result?;
    out.info(&format!(
        "demo done: {} requests to the simulator for {} unique IOCs ({:.2} per IOC). Open the files above to see what a real run writes.",
        counts.total,
        summary.report.counts.unique_iocs,
        counts.total as f64 / summary.report.counts.unique_iocs.max(1) as f64,
    ));
    Ok(summary.exit)
}

/// Defaults, pointed at the simulator, with the email written as .eml into the demo folder.
fn demo_settings(dir: &Path, sim: &crate::vt::sim::SimHandle) -> Settings {
    let mut s = Settings::defaults();
    sim.scenario()
        .configure_client(&mut s.virustotal, &sim.base_url());
    s.email.enabled = true;
    s.email.from = Some("ioc-tracker demo <ioc-tracker@example.com>".into());
    s.email.to = vec!["soc-team@example.com".into()];
    s.email.eml_dir = Some(dir.to_path_buf());
    s
}
