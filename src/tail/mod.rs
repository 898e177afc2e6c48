//! The file-tailing engine shared by the `file`, `docker` and `cri` inputs. A line's way
//! through it, in the order the files are named:
//! 1. found: `discover` (globs, on a scan) and `opener` (inotify, its own thread: a new file is
//!    opened at once) find and open files;
//! 2. taken on: `start` (in the tailer) gives a file its identity (`identity`), resumes its
//!    checkpoint or applies `read_from` (`resume` decides), and tracks it (`tracked`);
//! 3. read: `tailer` (one thread per input, the loop) polls its files; `poll` reads what is new
//!    with `reader` (lines, `max_line_bytes`), hands each line to the input's `decoder`, and sends
//!    full chunks of events to the pipeline (a blocking send: the backpressure);
//! 4. followed: `rotation` and `recovery` follow renames, truncations and copies (`copies`
//!    judges files created under rotated names);
//! 5. acknowledged: `checkpoint` stores, per file, the offset every output acknowledged (moved by
//!    the pipeline's ack ledger).

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
