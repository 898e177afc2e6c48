pub mod framing;
pub mod listen;
pub mod message;
pub mod rfc3164;
pub mod spool;
