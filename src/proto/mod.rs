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

/// Bytes of a test vector written in hex; whitespace between the digits is ignored.
#[cfg(test)]
pub(crate) fn test_hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}
