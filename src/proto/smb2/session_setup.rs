//! SESSION_SETUP request and response bodies ([MS-SMB2] 2.2.5, 2.2.6).
//!
//! Contract: `parse` takes the whole message (offsets count from the header) and needs the
//! fixed part of the body only; the security buffer is a `Result` of its own, so a snaplen-cut
//! exchange still yields flags and session flags. The buffer is borrowed, never decoded here:
//! hand it to `proto::gss::spnego`.

use nom::number::complete::{le_u16, le_u32, le_u64, u8};

use super::codes::{Capabilities, SecurityMode, SessionFlags, SessionSetupFlags};
use super::{buffer, Smb2Error, HEADER_LEN};
use crate::proto::wire::record;

/// SESSION_SETUP request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSetupRequest<'a> {
    /// BINDING: the client is adding a channel to an existing session.
    pub flags: SessionSetupFlags,
    pub security_mode: SecurityMode,
    pub capabilities: Capabilities,
    pub channel: u32,
    /// Non-zero when the client reconnects and wants its old session dropped.
    pub previous_session_id: u64,
    /// The GSS-API token.
    pub security_buffer: Result<&'a [u8], Smb2Error>,
}

/// SESSION_SETUP response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSetupResponse<'a> {
    pub session_flags: SessionFlags,
    /// The GSS-API token.
    pub security_buffer: Result<&'a [u8], Smb2Error>,
}

const REQUEST_FIXED: usize = 24;
const RESPONSE_FIXED: usize = 8;

impl<'a> SessionSetupRequest<'a> {
    /// Parses the body of a SESSION_SETUP request message.
    pub fn parse(msg: &'a [u8]) -> Result<Self, Smb2Error> {
        let layout = (le_u16, u8, u8, le_u32, le_u32, le_u16, le_u16, le_u64);
        let (_, fixed) = record(
            msg,
            HEADER_LEN,
            REQUEST_FIXED,
            "SESSION_SETUP request",
            layout,
        )?;
        let (_structure_size, flags, security_mode, capabilities, channel, offset, len, previous) =
            fixed;
        Ok(SessionSetupRequest {
            flags: SessionSetupFlags(flags),
            security_mode: SecurityMode(u16::from(security_mode)),
            capabilities: Capabilities(capabilities),
            channel,
            previous_session_id: previous,
            security_buffer: buffer(
                msg,
                usize::from(offset),
                usize::from(len),
                "SESSION_SETUP security buffer",
            ),
        })
    }
}

impl<'a> SessionSetupResponse<'a> {
    /// Parses the body of a SESSION_SETUP response message.
    pub fn parse(msg: &'a [u8]) -> Result<Self, Smb2Error> {
        let layout = (le_u16, le_u16, le_u16, le_u16);
        let (_, fixed) = record(
            msg,
            HEADER_LEN,
            RESPONSE_FIXED,
            "SESSION_SETUP response",
            layout,
        )?;
        let (_structure_size, session_flags, offset, len) = fixed;
        Ok(SessionSetupResponse {
            session_flags: SessionFlags(session_flags),
            security_buffer: buffer(
                msg,
                usize::from(offset),
                usize::from(len),
                "SESSION_SETUP security buffer",
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::ntstatus::NtStatus;
    use crate::proto::smb2::{parse_message, Body};
    use crate::proto::test_hex as hex;

    // ../shared/captures/lab/smb-tree-bad-name.pcap frame 8, SESSION_SETUP request carrying
    // SPNEGO + NTLMSSP NEGOTIATE, without the Direct-TCP header.
    const REQUEST: &str = "fe534d4240000100000000000100002010000000000000000100000000000000\
        000000000000000000000000000000000000000000000000000000000000000019000001010000000000000058\
        004a000000000000000000604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a0428\
        4e544c4d53535000010000001582086200000000280000000000000028000000060100000000000f";

    // Same capture, frame 9: STATUS_MORE_PROCESSING_REQUIRED with the NTLMSSP CHALLENGE.
    const CHALLENGE: &str =
        "fe534d4240000100160000c0010001001100000000000000010000000000000000000000000000008b76994b\
        00000000000000000000000000000000000000000900000048009500a1819230818fa0030a0101a10c060a2b\
        06010401823702020aa27a04784e544c4d5353500002000000080008003800000015828a622488e19e270eed\
        f100000000000000003800380040000000060100000000000f4e00410053003100020008004e004100530031\
        00010008004e0041005300310004000000030008006e00610073003100070008003ad69578247edd01000000\
        00";

    // Same capture, frame 11: the final SESSION_SETUP response, STATUS_SUCCESS.
    const DONE: &str = "fe534d424000010000000000010000201900000000000000020000000000000000000000\
        000000008b76994b000000007a28052926d3ff3427ea6dbd6d7bf7590900000048001d00a11b3019a0030a0100\
        a312041001000000e063fa9cf665f46000000000";

    #[test]
    fn request() {
        let msg = hex(REQUEST);
        let m = parse_message(&msg).unwrap();
        let Ok(Body::SessionSetupRequest(req)) = m.body else {
            panic!("{:?}", m.body)
        };
        assert_eq!(req.flags, SessionSetupFlags(0));
        assert!(!req.flags.contains(SessionSetupFlags::BINDING));
        assert_eq!(req.security_mode, SecurityMode::SIGNING_ENABLED);
        assert_eq!(req.capabilities, Capabilities::DFS);
        assert_eq!(req.previous_session_id, 0);
        let blob = req.security_buffer.unwrap();
        assert_eq!(blob.len(), 0x4a);
        assert_eq!(&blob[..2], &[0x60, 0x48]);
    }

    #[test]
    fn more_processing_required_keeps_the_session_setup_body() {
        let msg = hex(CHALLENGE);
        let m = parse_message(&msg).unwrap();
        assert_eq!(m.header.status, NtStatus::STATUS_MORE_PROCESSING_REQUIRED);
        let Ok(Body::SessionSetupResponse(rsp)) = m.body else {
            panic!("{:?}", m.body)
        };
        assert_eq!(rsp.session_flags, SessionFlags(0));
        let blob = rsp.security_buffer.unwrap();
        assert_eq!(blob.len(), 0x95);
        assert_eq!(blob[0], 0xa1);
    }

    #[test]
    fn final_response() {
        let msg = hex(DONE);
        let m = parse_message(&msg).unwrap();
        assert_eq!(m.header.status, NtStatus::STATUS_SUCCESS);
        let Ok(Body::SessionSetupResponse(rsp)) = m.body else {
            panic!("{:?}", m.body)
        };
        assert!(!rsp.session_flags.contains(SessionFlags::IS_GUEST));
        assert_eq!(rsp.security_buffer.unwrap().len(), 0x1d);
    }

    #[test]
    fn lying_offsets_and_cuts() {
        let msg = hex(REQUEST);
        // Security buffer cut by a short capture: fixed fields survive.
        let req = SessionSetupRequest::parse(&msg[..HEADER_LEN + 30]).unwrap();
        assert_eq!(req.security_mode, SecurityMode::SIGNING_ENABLED);
        assert!(req.security_buffer.unwrap_err().is_truncated());
        // Offset pointing into the header.
        let mut bad = msg.clone();
        bad[HEADER_LEN + 12] = 0x10;
        assert!(matches!(
            SessionSetupRequest::parse(&bad).unwrap().security_buffer,
            Err(Smb2Error::Invalid { .. })
        ));
        assert!(SessionSetupRequest::parse(&msg[..HEADER_LEN + 10])
            .unwrap_err()
            .is_truncated());
        let rsp = hex(DONE);
        assert!(SessionSetupResponse::parse(&rsp[..HEADER_LEN + 7]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut msg = hex(REQUEST)[..HEADER_LEN].to_vec();
            msg.extend(&body);
            let _ = SessionSetupRequest::parse(&msg);
            let _ = SessionSetupResponse::parse(&msg);
        }
    }
}
