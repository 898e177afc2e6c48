//! Enrichment: metadata added to records between the inputs and the batches.

pub mod docker;
