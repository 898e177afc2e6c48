//! The agent's own logs: `tracing` to stderr, text or JSON (`log_format`), level from the
//! `LOGSHIP_LOG` environment variable (`info` by default; e.g. `LOGSHIP_LOG=debug`).

use crate::settings::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

thread_local! {
    static IN_GUARD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Where the last panic outside a guard happened, for the supervisor's report.
static LAST_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Runs `f` as guarded code: a panic in it is caught by the caller (`input::guard`), costs one
/// line of input and is logged here as one line.
pub fn in_guard<R>(f: impl FnOnce() -> R) -> R {
    IN_GUARD.with(|g| g.set(true));
    let r = f();
    IN_GUARD.with(|g| g.set(false));
    r
}

/// The place of the last panic outside a guard (taken once).
pub fn take_last_panic() -> Option<String> {
    LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// Panics never print a backtrace to stderr. One caught by a guard is logged as one `error`
/// line (thread, place, message); one that ends a task is reported by the supervisor
/// (`crate::agent`) in its one line, with the place recorded here.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if IN_GUARD.with(|g| g.replace(false)) {
            let thread = std::thread::current();
            let message = crate::input::guard::panic_message(info.payload());
            tracing::error!(thread = thread.name().unwrap_or("?"), at = %place, "internal error (caught; the line is shipped raw): {message}");
        } else {
            *LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()) = Some(place);
        }
    }));
}

/// While the returned guard lives, panics print nothing (for unit tests that provoke them).
#[cfg(test)]
pub fn quiet_panics() -> impl Drop {
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = std::panic::take_hook();
        }
    }
    std::panic::set_hook(Box::new(|_| {}));
    Restore
}

pub fn init(format: LogFormat) {
    log_panics();
    // kube-rs logs every failed request at ERROR level itself; `enrich/kubernetes/watch.rs` says
    // it once per outage instead.
    let filter = EnvFilter::try_from_env("LOGSHIP_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,kube_client::client::builder=off"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
