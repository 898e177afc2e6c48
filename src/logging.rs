//! The agent's own logs: `tracing` to stderr, text or JSON (`log_format`), level from the
//! `LOGSHIP_LOG` environment variable (`info` by default; e.g. `LOGSHIP_LOG=debug`).

use crate::config::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Panics become one `error` log line (thread, place, message) instead of a backtrace on
/// stderr: a panic caught by a guard (`input::guard`) costs one line of input, and one that ends
/// a task is reported by the supervisor (`crate::agent`) as well.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = crate::input::guard::panic_message(info.payload());
        tracing::error!(thread = thread.name().unwrap_or("?"), at = %place, "internal error (caught): {message}");
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
    let filter = EnvFilter::try_from_env("LOGSHIP_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
