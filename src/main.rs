//! The binary: parse the command line, set up logging and the runtime, run, print the error
//! chain once, exit with the documented code.

use clap::Parser;

use ioc_tracker::app::{self, ExitCode};
use ioc_tracker::cli::Cli;
use ioc_tracker::output::Output;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // A damaged workbook can make its parser panic; the reader turns that into a one-line
    // error, so the panic message itself is not shown then. Every other panic is.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !ioc_tracker::workbook::quiet_panics() {
            default_hook(info);
        }
    }));
    let out = Output::new(cli.global.json, cli.global.quiet);
    if let Err(e) = ioc_tracker::output::init_logging(&cli.global) {
        out.error(&e);
        return std::process::ExitCode::from(ExitCode::Usage as u8);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            out.error(&e);
            return std::process::ExitCode::from(ExitCode::Usage as u8);
        }
    };
    let code = match runtime.block_on(app::dispatch(cli, &out)) {
        Ok(code) => code,
        Err(e) => {
            out.error(&e);
            e.exit_code()
        }
    };
    std::process::ExitCode::from(code as u8)
}
