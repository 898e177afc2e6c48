//! `type: syslog`: syslog received over UDP, TCP, TLS or a Unix socket, kept in a disk spool
//! until every output acknowledged it. The parts, in the order a message goes through them:
//! `listen.rs` (sockets, connection limits) → `framing.rs` (stream framing) → `intake.rs`
//! (appended to the spool, `record.rs` its layout) → `spool.rs` (segments on disk) →
//! `reader.rs` (read back in order) → `decode.rs` (`message.rs` parses it into the record) →
//! the pipeline. `run.rs` starts them; `config.rs` owns the options; `rfc3164.rs` is the
//! traditional format the `file` input's `format: syslog` shares, `local_time.rs` how its
//! zoneless times are read.

pub mod config;
pub mod decode;
pub mod framing;
pub mod intake;
pub mod listen;
pub mod local_time;
pub mod message;
pub mod reader;
pub mod record;
pub mod rfc3164;
pub mod run;
pub mod spool;
