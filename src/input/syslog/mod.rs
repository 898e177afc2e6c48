pub mod framing;
pub mod message;
pub mod rfc3164;
pub mod spool;
