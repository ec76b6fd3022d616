//! The ERROR response body ([MS-SMB2] 2.2.2) and the size fields of READ responses (2.2.20)
//! and WRITE requests (2.2.21).
//!
//! Contract: `parse` takes the whole message. The ERROR body's data is borrowed and bounded
//! by the bytes present (a `Result` of its own). READ/WRITE parsing stops at the size fields:
//! the data is bulk payload that callers skip by length, never copy.

use nom::number::complete::{le_u16, le_u32, le_u64, u8};

use super::{buffer, Smb2Error, HEADER_LEN};
use crate::proto::wire::record;

/// ERROR response body, also sent by STATUS_PENDING interim responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse<'a> {
    /// Number of error contexts (3.1.1); 0 before.
    pub error_context_count: u8,
    /// Length of the error data.
    pub byte_count: u32,
    /// The error data, e.g. a symbolic-link error or error contexts.
    pub data: Result<&'a [u8], Smb2Error>,
}

/// READ response sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadResponse {
    /// Offset of the data from the header start.
    pub data_offset: u8,
    /// Bytes of data the response carries.
    pub data_length: u32,
    pub data_remaining: u32,
}

/// WRITE request sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteRequest {
    /// Offset of the data from the header start.
    pub data_offset: u16,
    /// Bytes of data the request carries.
    pub length: u32,
    /// File offset the data is written at.
    pub file_offset: u64,
}

const ERROR_FIXED: usize = 8;
/// StructureSize to DataRemaining.
const READ_FIXED: usize = 12;
/// StructureSize to Offset.
const WRITE_FIXED: usize = 16;

impl<'a> ErrorResponse<'a> {
    /// Parses the ERROR body of a response message.
    pub fn parse(msg: &'a [u8]) -> Result<Self, Smb2Error> {
        let layout = (le_u16, u8, u8, le_u32);
        let (_, fixed) = record(msg, HEADER_LEN, ERROR_FIXED, "ERROR response", layout)?;
        let (_structure_size, error_context_count, _reserved, byte_count) = fixed;
        Ok(ErrorResponse {
            error_context_count,
            byte_count,
            data: buffer(
                msg,
                HEADER_LEN + ERROR_FIXED,
                byte_count as usize,
                "ERROR data",
            ),
        })
    }
}

impl ReadResponse {
    /// Parses the size fields of a READ response message.
    pub fn parse(msg: &[u8]) -> Result<Self, Smb2Error> {
        let layout = (le_u16, u8, u8, le_u32, le_u32);
        let (_, fixed) = record(msg, HEADER_LEN, READ_FIXED, "READ response", layout)?;
        let (_structure_size, data_offset, _reserved, data_length, data_remaining) = fixed;
        Ok(ReadResponse {
            data_offset,
            data_length,
            data_remaining,
        })
    }
}

impl WriteRequest {
    /// Parses the size fields of a WRITE request message.
    pub fn parse(msg: &[u8]) -> Result<Self, Smb2Error> {
        let layout = (le_u16, le_u16, le_u32, le_u64);
        let (_, fixed) = record(msg, HEADER_LEN, WRITE_FIXED, "WRITE request", layout)?;
        let (_structure_size, data_offset, length, file_offset) = fixed;
        Ok(WriteRequest {
            data_offset,
            length,
            file_offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::ntstatus::NtStatus;
    use crate::proto::smb2::{messages, parse_message, Body, Smb2Command};
    use crate::proto::test_hex as hex;

    // ../shared/captures/lab/smb-tree-bad-name.pcap frame 19: TREE_CONNECT response with
    // STATUS_BAD_NETWORK_NAME and an empty ERROR body.
    const BAD_NAME: &str = "fe534d4240000100cc0000c00300010019000000000000000600000000000000\
        00000000000000008b76994b000000008bc102ea23b8c20bf32c03c6e759f20f090000000000000000";

    #[test]
    fn tree_connect_error() {
        let msg = hex(BAD_NAME);
        let m = parse_message(&msg).unwrap();
        assert_eq!(m.header.status, NtStatus::STATUS_BAD_NETWORK_NAME);
        let Ok(Body::Error(e)) = m.body else {
            panic!("{:?}", m.body)
        };
        assert_eq!(e.error_context_count, 0);
        assert_eq!(e.byte_count, 0);
        assert_eq!(e.data, Ok(&[][..]));
    }

    #[test]
    fn error_data_longer_than_the_message() {
        let mut msg = hex(BAD_NAME);
        msg[HEADER_LEN + 4] = 0x40;
        let e = ErrorResponse::parse(&msg).unwrap();
        assert!(e.data.unwrap_err().is_truncated());
        assert!(ErrorResponse::parse(&msg[..HEADER_LEN + 3]).is_err());
    }

    #[test]
    fn read_response_sizes() {
        // ../shared/captures/lab/smb-large-read.pcap frame 25: first segment of a 1 MiB
        // READ response (header and size fields; the data follows in later segments).
        let seg = hex(
            "fe534d4240001000000000000800100011000000000000000900000000000000\
            000000007ede2acb51c52904000000000000000000000000000000000000000011005000000010000000\
            000000000000a5b7162cadc10126f2230f8f477e048891e3305cb771f1a81069",
        );
        let m = messages(&seg).next().unwrap().unwrap();
        assert_eq!(m.header.command, Smb2Command::READ);
        let Ok(Body::ReadResponse(r)) = m.body else {
            panic!("{:?}", m.body)
        };
        assert_eq!(r.data_offset, 0x50);
        assert_eq!(r.data_length, 0x0010_0000);
    }

    #[test]
    fn write_request_sizes() {
        // ../shared/captures/zeek/kerberos_tso.pcapng frame 46: WRITE request of 160 bytes of
        // DCE/RPC bind at data offset 0x70 (first 100 bytes of the message).
        let msg = hex(
            "fe534d4240000100000000000900010000000000000000000700000000000000fffe0000\
            0100000015000000000400000000000000000000000000000000000031007000a0000000000000000000\
            00009d0000000000000001000000ffffffff",
        );
        let m = parse_message(&msg).unwrap();
        let Ok(Body::WriteRequest(w)) = m.body else {
            panic!("{:?}", m.body)
        };
        assert_eq!(w.data_offset, 0x70);
        assert_eq!(w.length, 160);
        assert_eq!(w.file_offset, 0);
        assert!(WriteRequest::parse(&msg[..HEADER_LEN + 8]).is_err());
        assert!(ReadResponse::parse(&msg[..HEADER_LEN + 8]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..100)) {
            let mut msg = hex(BAD_NAME)[..HEADER_LEN].to_vec();
            msg.extend(&body);
            let _ = ErrorResponse::parse(&msg);
            let _ = ReadResponse::parse(&msg);
            let _ = WriteRequest::parse(&msg);
        }
    }
}
