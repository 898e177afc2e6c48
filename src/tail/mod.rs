//! The file-tailing engine shared by the `file` input (and later `docker` and `cri`): discovery,
//! file identity, the line reader, rotation handling and the checkpoint store.

pub mod checkpoint;
pub mod discover;
pub mod identity;
pub mod opener;
pub mod reader;
pub mod rotation;
pub mod tailer;
