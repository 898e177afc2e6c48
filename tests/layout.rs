//! The release binary's code layout: the functions `link/symbol-order.txt` names (written by
//! `scripts/symbol-order.sh`) are in the binary and placed in that order at the start of `.text`
//! (build.rs hands the file to the linker). When names drift (a toolchain or dependency update,
//! a large change), this fails and says to run the script again: the agent would still work, with
//! its code spread over 19 MB again (about 6 MiB more resident, README Performance).
use std::collections::HashMap;
use std::process::Command;

fn order() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/link/symbol-order.txt");
    std::fs::read_to_string(path)
        .expect("link/symbol-order.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .collect()
}

/// Address of every function symbol of the agent's binary, or None (said why) when this build
/// cannot be checked.
fn addresses() -> Option<HashMap<String, u64>> {
    if cfg!(debug_assertions) || !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        eprintln!("SKIPPED: the symbol order applies to release builds on x86_64 Linux (cargo test --release)");
        return None;
    }
    if std::env::var("LOGSHIP_SYMBOL_ORDER").is_ok_and(|v| v == "0") {
        eprintln!("SKIPPED: LOGSHIP_SYMBOL_ORDER=0");
        return None;
    }
    let out = match Command::new("nm")
        .args(["--defined-only", env!("CARGO_BIN_EXE_logship")])
        .output()
    {
        Ok(out) if out.status.success() => out,
        _ => {
            eprintln!("SKIPPED: no nm (binutils) to read the binary's symbols");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut map = HashMap::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(addr), Some(kind), Some(name)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if matches!(kind, "t" | "T" | "w" | "W") {
            if let Ok(a) = u64::from_str_radix(addr, 16) {
                map.insert(name.to_string(), a);
            }
        }
    }
    Some(map)
}

#[test]
fn the_symbol_order_names_functions_the_binary_has_and_the_linker_followed_it() {
    let Some(addr) = addresses() else { return };
    let order = order();
    assert!(order.len() > 1000, "{} names: too few", order.len());
    let found: Vec<u64> = order.iter().filter_map(|n| addr.get(n).copied()).collect();
    let share = found.len() as f64 / order.len() as f64;
    // 6% of the names gone (a change in one module renamed the functions LLVM had promoted out
    // of it, `.llvm.<hash>`) already put 2.7 MiB of code back into the resident set: the crate
    // is now one codegen unit (Cargo.toml), whose names do not move with such changes.
    assert!(
        share >= 0.95,
        "only {:.0}% of link/symbol-order.txt's {} names are in the binary: run scripts/symbol-order.sh and commit the file",
        share * 100.0,
        order.len()
    );
    // In the file's order, from the start of .text: each address above the one before.
    let out_of_order = found.windows(2).filter(|w| w[1] <= w[0]).count();
    assert_eq!(
        out_of_order, 0,
        "the linker did not follow link/symbol-order.txt (is the linker rustc's lld?)"
    );
    let first = found.first().copied().unwrap_or(u64::MAX);
    let before = addr.values().filter(|&&a| a < first).count();
    assert!(
        before < 50,
        "{before} functions come before the first ordered one ({first:#x}): the order is not at the start of .text"
    );
}
