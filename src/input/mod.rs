pub mod file;
pub mod syslog;
