//! logship as a library: the binary (`src/main.rs`) is `cli::main`, and the fuzz targets
//! (`fuzz/`) and property tests reach the parsers through the `fuzzing` module's entry points.
//! See README.md, ARCHITECTURE notes in the module docs, and ../shared/SPEC.md.

pub mod agent;
pub mod cli;
pub mod config;
pub mod data_lock;
pub mod enrich;
pub mod event;
pub mod fault;
pub mod fuzzing;
pub mod health;
pub mod http;
pub mod input;
pub mod logging;
pub mod metrics;
pub mod migrate;
pub mod open_files;
pub mod output;
pub mod pipeline;
pub mod process;
pub mod reload;
pub mod resident;
pub mod secret;
pub mod settings;
pub mod status;
pub mod tail;
pub mod tls;
pub mod utf8;
