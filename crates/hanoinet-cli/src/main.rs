//! The `hanoinet` binary: parses the command line and hands over to `hanoinet_cli`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = hanoinet_cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(hanoinet_cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(hanoinet_cli::exit::status(&e))
        }
    }
}
