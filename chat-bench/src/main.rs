//! chat-bench command line: see `chat-bench --help`.
use std::process::ExitCode;

use clap::Parser;

use chat_bench::cli::Cli;
use chat_bench::run::run;
use chat_bench::server;

fn cpus_option(s: &str) -> Option<String> {
    (!s.is_empty() && s != "none").then(|| s.to_owned())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let can_pin = cli.common.spawn_server && cpus >= 2 && server::on_path("taskset");
    let mut bench_cpus = None;
    if can_pin && let Some(list) = cpus_option(&cli.common.bench_cpus) {
        // Before the runtime starts any thread: threads inherit the affinity.
        match server::pin_self(&list) {
            Ok(()) => bench_cpus = Some(list),
            Err(e) => eprintln!("chat-bench: not pinned: {e:#}"),
        }
    }
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chat-bench: error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server_cpus = if can_pin {
        cpus_option(&cli.common.server_cpus)
    } else {
        None
    };
    match runtime.block_on(run(cli, server_cpus, bench_cpus)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
