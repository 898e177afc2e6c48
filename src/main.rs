//! logship: a per-node log shipping agent. See README.md and ../shared/SPEC.md.

fn main() {
    std::process::exit(logship::cli::main());
}
