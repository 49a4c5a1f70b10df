//! The command line (clap derive). Every flag here is a contract with scripts and schedulers:
//! keep names exactly. Mergeable settings are `Option<T>` so that "not given" is never confused
//! with "given the default" (see `config`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0    everything checked and all outputs done
  1    outputs written, but some IOCs were not checked or the email failed
  2    configuration, usage or input error before any lookup (nothing written)
  130  interrupted (Ctrl-C / SIGTERM); what was known is written";

/// Re-check tracked Indicators of Compromise against VirusTotal, flag the malicious ones,
/// update the tracking workbook, write a report and email the analysts.
#[derive(Debug, Parser)]
#[command(name = "ioc-tracker", version, about, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after the subcommand.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Config file (default: $IOC_TRACKER_CONFIG, ./ioc-tracker.toml, then the user config dir)
    #[arg(short = 'c', long = "config", global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// More log output (-v info, -vv debug, -vvv trace)
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr; no progress bar
    #[arg(short = 'q', long = "quiet", global = true)]
    pub quiet: bool,

    /// Also write the log to this file
    #[arg(long = "log-file", global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,

    /// Machine-readable output on stdout (run, check, validate)
    #[arg(long = "json", global = true)]
    pub json: bool,

    /// Print the resolved settings (secrets masked) and exit
    #[arg(long = "show-settings", global = true, hide = true)]
    pub show_settings: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Re-check every IOC of the tracking workbook, decide, write the outputs and email
    Run(RunArgs),
    /// Look up IOCs given on the command line (or `-` for one per line on stdin)
    Check(CheckArgs),
    /// Read the workbook and report every row's normalised IOC or its problem (no network)
    Validate(ValidateArgs),
    /// Run the whole pipeline on a bundled sample against the built-in simulator (offline)
    Demo(DemoArgs),
    /// Send a short test message with the configured email settings
    TestEmail(TestEmailArgs),
    /// Write a commented config file and an empty template workbook
    Init(InitArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Serve the built-in VirusTotal simulator on 127.0.0.1 (for tests and benchmarks)
    #[command(hide = true)]
    Simulate(SimulateArgs),
}

#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// The tracking workbook (default: [workbook] path, else ./ioc_tracking.xlsx)
    #[arg(short = 'w', long, value_name = "PATH")]
    pub workbook: Option<PathBuf>,

    /// Remove the flagged IOCs from tracking without asking
    #[arg(short = 'y', long, conflicts_with = "no")]
    pub yes: bool,

    /// Keep the flagged IOCs, mark their Status Malicious, without asking
    #[arg(long)]
    pub no: bool,

    /// Look everything up and show what would happen; write and send nothing
    #[arg(long)]
    pub dry_run: bool,

    /// The report workbook (default: [report] path, else malicious_iocs.xlsx beside the workbook)
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,

    /// Flag IOCs with at least this many malicious detections (default 5)
    #[arg(long, value_name = "N")]
    pub threshold: Option<u32>,

    /// Read the last analysis instead of asking VirusTotal to re-analyse (1 request per IOC)
    #[arg(long)]
    pub no_reanalyse: bool,

    /// Do not send the email
    #[arg(long)]
    pub no_email: bool,

    /// Write the email to this .eml file instead of sending it
    #[arg(long, value_name = "PATH")]
    pub eml: Option<PathBuf>,

    /// Flag IOCs whose Status is already Malicious again
    #[arg(long)]
    pub realert: bool,

    /// Ignore the journal of an unfinished run; look everything up again
    #[arg(long)]
    pub fresh: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct CheckArgs {
    /// IOC values (defanged forms accepted); `-` reads one per line from stdin
    #[arg(required = true, value_name = "IOC")]
    pub iocs: Vec<String>,

    /// Read the last analysis instead of asking VirusTotal to re-analyse
    #[arg(long)]
    pub no_reanalyse: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ValidateArgs {
    /// The tracking workbook (default: [workbook] path, else ./ioc_tracking.xlsx)
    #[arg(short = 'w', long, value_name = "PATH")]
    pub workbook: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct DemoArgs {
    /// Folder for the demo's copy of the workbook and its outputs
    #[arg(long, value_name = "DIR", default_value = "ioc-tracker-demo")]
    pub out: PathBuf,

    /// Remove the flagged IOCs without asking
    #[arg(short = 'y', long, conflicts_with = "no")]
    pub yes: bool,

    /// Mark the flagged IOCs Malicious without asking
    #[arg(long)]
    pub no: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct TestEmailArgs {
    /// Send to this address instead of [email] to
    #[arg(long, value_name = "ADDRESS")]
    pub to: Option<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct InitArgs {
    /// Folder to write ioc-tracker.toml and ioc_tracking.xlsx into
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// Overwrite files that exist
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, powershell or elvish
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args, Clone, Default)]
pub struct SimulateArgs {
    /// Port on 127.0.0.1 (0 = any free port; the address is printed on stdout)
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Scenario: "demo", or a JSON scenario file
    #[arg(long, default_value = "demo")]
    pub scenario: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        let a = Cli::try_parse_from(["ioc-tracker", "--json", "-c", "x.toml", "validate"]).unwrap();
        let b = Cli::try_parse_from(["ioc-tracker", "validate", "--json", "-c", "x.toml"]).unwrap();
        assert!(a.global.json && b.global.json);
        assert_eq!(a.global.config, b.global.config);
    }

    #[test]
    fn yes_and_no_conflict() {
        assert!(Cli::try_parse_from(["ioc-tracker", "run", "--yes", "--no"]).is_err());
    }
}
