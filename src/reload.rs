//! SIGHUP: the configuration read again, by starting the agent again in place.
//!
//! On SIGHUP the agent loads its configuration file again (the same checks as at start and as
//! `logship check-config`). A configuration with problems is refused: one error line naming them,
//! and the agent goes on with the configuration it runs. A valid one: the agent stops as on
//! SIGTERM (inputs stop reading, in-flight batches are flushed within `shutdown_timeout`, the
//! checkpoints are written), then replaces itself with a new start of the same program and
//! arguments (`execve` of `/proc/self/exe`: the same PID, so systemd and the kubelet see no
//! restart). Every file, checkpoint and spool carries over as in a restart: nothing is lost and
//! nothing read twice that a restart would not read twice. What this costs: a restart's pause
//! (listeners are closed and bound again, so UDP datagrams sent in that moment are lost, as in any
//! restart; TCP senders reconnect), and the metrics' counters start again from zero.
//!
//! Why a restart and not a change in place: every part (inputs' identities and checkpoints,
//! outputs' connections, the pipeline's ledger) is built from the configuration, and a new start
//! is the one path every test covers. Filebeat stops on SIGHUP; Fluent Bit reloads (hot reload)
//! the same way, by stopping its pipeline and starting a new one.

use std::os::unix::process::CommandExt;
use std::path::Path;

/// Why the agent's run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// SIGTERM or SIGINT: exit 0.
    ForGood,
    /// SIGHUP with a valid configuration: start again.
    ToReload,
}

/// Loads the configuration at `path` as a start would; the problems, as `check-config` prints
/// them, if it has any.
pub fn check(path: &Path) -> Result<(), String> {
    crate::settings::load(path).map(|_| ()).map_err(|e| {
        let problems: Vec<String> = e.errors.iter().map(|p| p.to_string()).collect();
        problems.join("; ")
    })
}

/// Replaces this process with a new start of the same program and arguments. Returns only if
/// that failed (the caller exits 1, and the service manager starts the agent again).
pub fn exec_again() -> std::io::Error {
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| "logship".into());
    // `/proc/self/exe` is this program even when its file was replaced or removed since (an
    // upgrade installs the new one at the path: a restart, not a reload, starts that).
    std::process::Command::new("/proc/self/exe")
        .arg0(arg0)
        .args(args)
        .exec()
}
