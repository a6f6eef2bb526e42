use clap::Parser;
use exfil_sensor::cli::Args;
use exfil_sensor::pipeline::{self, Control};
use std::process::ExitCode;

/// Parsers allocate per transaction on every worker at once; mimalloc's per-thread heaps
/// keep that off glibc's arena locks (measured in the README's bench section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = Args::parse();
    let cfg = match args.config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("exfil-sensor: {e}");
            return ExitCode::from(1);
        }
    };
    if args.check_config {
        eprintln!("exfil-sensor: configuration OK");
        return ExitCode::SUCCESS;
    }
    let ctl = Control::default();
    if let Err(e) = install_signals(&ctl) {
        eprintln!("exfil-sensor: cannot install signal handlers: {e}");
        return ExitCode::from(1);
    }
    match pipeline::run(&cfg, &ctl) {
        Ok(s) => {
            eprintln!(
                "exfil-sensor: {} packets, {} flows, {} events written",
                s.packets, s.flows, s.events
            );
            if let Some(e) = s.capture_error {
                eprintln!("exfil-sensor: {e}");
                return ExitCode::from(1);
            }
            if s.file_errors > 0 {
                eprintln!(
                    "exfil-sensor: {} input file(s) had errors (see above)",
                    s.file_errors
                );
                if s.packets == 0 {
                    return ExitCode::from(1);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("exfil-sensor: {e}");
            ExitCode::from(1)
        }
    }
}

fn install_signals(ctl: &Control) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use signal_hook::flag;
    for sig in [SIGINT, SIGTERM] {
        // A second signal while the first is being handled exits at once.
        flag::register_conditional_shutdown(sig, 1, ctl.stop.clone())?;
        flag::register(sig, ctl.stop.clone())?;
    }
    flag::register(SIGHUP, ctl.reopen.clone())?;
    Ok(())
}
