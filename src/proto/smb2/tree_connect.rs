//! TREE_CONNECT request and response bodies ([MS-SMB2] 2.2.9, 2.2.10).
//!
//! Contract: `parse` takes the whole message (offsets count from the header) and needs the
//! fixed part of the body only. The request path is decoded from UTF-16LE (lossy) into a
//! `String` — it is short and findings quote it — and is a `Result` of its own so a cut
//! request still yields its flags.

use nom::number::complete::{le_u16, le_u32, u8};

use super::codes::{ShareCapabilities, ShareFlags, ShareType, TreeConnectFlags};
use super::{buffer, Smb2Error, HEADER_LEN};
use crate::proto::wire::{record, utf16le_lossy};

/// TREE_CONNECT request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeConnectRequest<'a> {
    pub flags: TreeConnectFlags,
    /// The UNC path, e.g. `\\server\share`.
    pub path: Result<String, Smb2Error>,
    /// The raw UTF-16LE path bytes (same bounds check as `path`).
    pub path_bytes: Result<&'a [u8], Smb2Error>,
}

/// TREE_CONNECT response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeConnectResponse {
    pub share_type: ShareType,
    pub share_flags: ShareFlags,
    pub capabilities: ShareCapabilities,
    pub maximal_access: u32,
}

const REQUEST_FIXED: usize = 8;
const RESPONSE_FIXED: usize = 16;

impl<'a> TreeConnectRequest<'a> {
    /// Parses the body of a TREE_CONNECT request message.
    pub fn parse(msg: &'a [u8]) -> Result<Self, Smb2Error> {
        let layout = (le_u16, le_u16, le_u16, le_u16);
        let (_, fixed) = record(
            msg,
            HEADER_LEN,
            REQUEST_FIXED,
            "TREE_CONNECT request",
            layout,
        )?;
        let (_structure_size, flags, offset, len) = fixed;
        let path_bytes = buffer(
            msg,
            usize::from(offset),
            usize::from(len),
            "TREE_CONNECT path",
        );
        Ok(TreeConnectRequest {
            flags: TreeConnectFlags(flags),
            path: path_bytes.clone().map(utf16le_lossy),
            path_bytes,
        })
    }
}

impl TreeConnectResponse {
    /// Parses the body of a TREE_CONNECT response message.
    pub fn parse(msg: &[u8]) -> Result<Self, Smb2Error> {
        let layout = (le_u16, u8, u8, le_u32, le_u32, le_u32);
        let (_, fixed) = record(
            msg,
            HEADER_LEN,
            RESPONSE_FIXED,
            "TREE_CONNECT response",
            layout,
        )?;
        let (_structure_size, share_type, _reserved, share_flags, capabilities, maximal_access) =
            fixed;
        Ok(TreeConnectResponse {
            share_type: ShareType(share_type),
            share_flags: ShareFlags(share_flags),
            capabilities: ShareCapabilities(capabilities),
            maximal_access,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::ntstatus::NtStatus;
    use crate::proto::smb2::{parse_message, Body};
    use crate::proto::test_hex as hex;

    // ../shared/captures/lab/smb-tree-bad-name.pcap frame 18, SMB2 TREE_CONNECT request for
    // \\nas1.corp.example\dta, without the Direct-TCP header.
    const REQUEST: &str = "fe534d424000010000000000030001001800000000000000060000000000000000000000\
        000000008b76994b000000004bbd312c0d5dc7803eaa0a2844ebc4e60900000048002e005c005c006e0061007300\
        31002e0063006f00720070002e006500780061006d0070006c0065005c00640074006100";

    // ../shared/captures/lab/smb3-encrypted-ok.pcap frame 19: TREE_CONNECT response for the
    // share "vault", which requires encryption (ShareFlags 0x8000).
    const ENCRYPTED_SHARE: &str = "fe534d4240000100000000000300010019000000000000000600000000000000\
        0000000078f92ba52cad4966000000000678de3043cdf6a42d6e2b8390b10f07100001000080000000000000ff01\
        1f00";

    #[test]
    fn request_path() {
        let msg = hex(REQUEST);
        let m = parse_message(&msg).unwrap();
        assert_eq!(m.header.message_id, 6);
        let Ok(Body::TreeConnectRequest(req)) = m.body else {
            panic!("{:?}", m.body)
        };
        assert_eq!(req.path.unwrap(), r"\\nas1.corp.example\dta");
        assert_eq!(req.flags, TreeConnectFlags(0));
        assert_eq!(req.path_bytes.unwrap().len(), 0x2e);
    }

    #[test]
    fn response_with_encrypt_data() {
        let msg = hex(ENCRYPTED_SHARE);
        let m = parse_message(&msg).unwrap();
        assert_eq!(m.header.status, NtStatus::STATUS_SUCCESS);
        assert_eq!(m.header.tree_id(), Some(0xa52b_f978));
        let Ok(Body::TreeConnectResponse(rsp)) = m.body else {
            panic!("{:?}", m.body)
        };
        assert_eq!(rsp.share_type, ShareType::DISK);
        assert!(rsp.share_flags.contains(ShareFlags::ENCRYPT_DATA));
        assert_eq!(rsp.capabilities, ShareCapabilities(0));
        assert_eq!(rsp.maximal_access, 0x001f_01ff);
    }

    #[test]
    fn cut_and_lying_requests() {
        let msg = hex(REQUEST);
        let cut = TreeConnectRequest::parse(&msg[..HEADER_LEN + 20]).unwrap();
        assert!(cut.path.unwrap_err().is_truncated());
        let mut bad = msg.clone();
        bad[HEADER_LEN + 6] = 0xff;
        bad[HEADER_LEN + 7] = 0xff;
        assert!(TreeConnectRequest::parse(&bad).unwrap().path.is_err());
        assert!(TreeConnectRequest::parse(&msg[..HEADER_LEN + 4]).is_err());
        let rsp = hex(ENCRYPTED_SHARE);
        assert!(TreeConnectResponse::parse(&rsp[..HEADER_LEN + 15])
            .unwrap_err()
            .is_truncated());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..120)) {
            let mut msg = hex(REQUEST)[..HEADER_LEN].to_vec();
            msg.extend(&body);
            let _ = TreeConnectRequest::parse(&msg);
            let _ = TreeConnectResponse::parse(&msg);
        }
    }
}
