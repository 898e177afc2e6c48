//! The file-tailing engine shared by the `file`, `docker` and `cri` inputs. A line's way through
//! it: `discover` (globs) and `opener` (inotify, its own thread) find and open files; `tailer`
//! (one thread per input) reads them with `reader` into the input's `decoder`, and sends events
//! in chunks to the pipeline; `tracked` is one file being read; `identity` and `resume` decide
//! whether a file is one already checkpointed; `rotation` and `recovery` follow renames,
//! truncations and copies (`copies` judges files created under rotated names); `checkpoint` stores what every output acknowledged.

pub mod checkpoint;
mod copies;
pub mod decoder;
pub mod discover;
pub mod identity;
pub mod opener;
mod poll;
pub mod reader;
mod recovery;
pub mod resume;
pub mod rotation;
mod start;
pub mod tailer;
mod tracked;
