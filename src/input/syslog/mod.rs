pub mod rfc3164;
