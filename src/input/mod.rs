//! Inputs: one module per input type. File-based inputs (`file`, `docker`, `cri`) are decoders
//! plugged into the tailing engine (`crate::tail`); `tail_settings` gives what it needs.

pub mod cri;
pub mod docker;
pub mod docker_line;
pub mod file;
pub mod guard;
pub mod partial;
pub mod syslog;

use crate::config::{InputConfig, InputKind};
use crate::tail::tailer::{DecoderFactory, TailSettings};

pub fn tail_settings(
    input: &InputConfig,
    max_line: usize,
    host_name: &str,
) -> (TailSettings, DecoderFactory) {
    let (name, key) = (&input.name, &input.key);
    match &input.kind {
        InputKind::File(c) => file::tail_settings(name, key, c, max_line, host_name),
        InputKind::Docker(c) => docker::tail_settings(name, key, c, max_line, host_name),
        InputKind::Cri(c) => cri::tail_settings(name, key, c, max_line, host_name),
    }
}
