//! Enrichment: metadata added to records between the inputs and the batches.

pub mod config;
pub mod docker;
pub mod kubernetes;
