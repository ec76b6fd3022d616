//! Pure record parsers: each takes a byte slice and returns a struct that borrows it, or a
//! typed error. None of them keeps state between calls, and none panics on any input.
//! [`framing`] is the one piece with state: it cuts a stream's bytes into the records the
//! parsers read.

mod asn1;
mod code_table;
pub mod dns;
pub mod framing;
pub mod gss;
pub mod kerberos;
pub mod nbss;
pub mod ntstatus;
pub mod smb1;
pub mod smb2;
mod wire;
