//! logship: a per-node log shipping agent. See README.md and ../shared/SPEC.md.

mod agent;
mod cli;
mod config;
mod enrich;
mod event;
mod health;
mod http;
mod input;
mod logging;
mod metrics;
mod output;
mod pipeline;
mod process;
mod tail;
mod tls;

fn main() {
    std::process::exit(cli::main());
}
