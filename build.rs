//! Records the git commit for `logship version`, and gives the linker the order of the functions
//! the agent runs (`link/symbol-order.txt`, written by `scripts/symbol-order.sh`) so they sit
//! together in the binary: the kernel maps code 64 KiB around each page first touched, and the
//! agent's code spread over the whole `.text` made 8.7 MiB of it resident; placed together,
//! 2.5 MiB (README, Performance).
fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=LOGSHIP_GIT_COMMIT={commit}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    symbol_order();
}

/// Passes `--symbol-ordering-file` to the linker for optimized builds on x86_64 Linux, where
/// rustc links with its own lld (since Rust 1.90). `LOGSHIP_SYMBOL_ORDER=0` turns it off (a
/// build with another linker, or the script's own profiling build). Names in the file that the
/// binary no longer has are skipped without a warning.
fn symbol_order() {
    println!("cargo:rerun-if-env-changed=LOGSHIP_SYMBOL_ORDER");
    println!("cargo:rerun-if-changed=link/symbol-order.txt");
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let wanted = env("LOGSHIP_SYMBOL_ORDER") != "0"
        && env("PROFILE") == "release"
        && env("CARGO_CFG_TARGET_OS") == "linux"
        && env("CARGO_CFG_TARGET_ARCH") == "x86_64"
        && env("CARGO_CFG_TARGET_ENV") == "gnu"
        && rustc_links_with_lld();
    let file = std::path::Path::new(&env("CARGO_MANIFEST_DIR")).join("link/symbol-order.txt");
    if wanted && file.exists() {
        println!(
            "cargo:rustc-link-arg-bin=logship=-Wl,--symbol-ordering-file={}",
            file.display()
        );
        println!("cargo:rustc-link-arg-bin=logship=-Wl,--no-warn-symbol-ordering");
    }
}

/// Whether rustc is 1.90 or later (its x86_64 Linux target links with the bundled lld; GNU ld
/// does not know `--symbol-ordering-file`).
fn rustc_links_with_lld() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = std::process::Command::new(rustc).arg("--version").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut version = text
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (version.next().unwrap_or(0), version.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}
