//! NEGOTIATE request and response bodies ([MS-SMB2] 2.2.3, 2.2.4) with their negotiate
//! contexts (2.2.3.1).
//!
//! Contract: `parse` takes the whole message (header included, since offsets count from the
//! header) and needs only the fixed part of the body; the variable parts — dialect list,
//! security buffer, contexts — are read as far as they go. The first problem found in them is
//! kept in `error`, so a cut or odd NEGOTIATE still yields its dialects and security mode.
//! Unknown context types are kept raw; a known type whose data does not parse is `Malformed`.

use nom::bytes::complete::take;
use nom::combinator::iterator;
use nom::multi::{count, length_count};
use nom::number::complete::{le_u16, le_u32, le_u64};
use nom::{IResult, Parser};

use super::codes::{Capabilities, Dialect, NegotiateContextType, SecurityMode};
use super::{buffer, Smb2Error, HEADER_LEN};
use crate::proto::wire::{array, field, leading, record, utf16le_lossy, Short};

/// One negotiate context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NegotiateContext<'a> {
    PreauthIntegrity {
        hash_algorithms: Vec<u16>,
        salt: &'a [u8],
    },
    Encryption {
        ciphers: Vec<u16>,
    },
    Compression {
        flags: u32,
        algorithms: Vec<u16>,
    },
    /// The server name the client asked for (a 3.1.1 client's view of the target).
    NetName(String),
    Transport {
        flags: u32,
    },
    Rdma {
        transforms: Vec<u16>,
    },
    Signing {
        algorithms: Vec<u16>,
    },
    /// A known type whose data is too short for what it announces.
    Malformed {
        context_type: NegotiateContextType,
        data: &'a [u8],
    },
    /// A type this parser does not know.
    Unknown {
        context_type: NegotiateContextType,
        data: &'a [u8],
    },
}

impl NegotiateContext<'_> {
    /// The wire type of this context.
    pub fn context_type(&self) -> NegotiateContextType {
        match self {
            Self::PreauthIntegrity { .. } => NegotiateContextType::PREAUTH_INTEGRITY_CAPABILITIES,
            Self::Encryption { .. } => NegotiateContextType::ENCRYPTION_CAPABILITIES,
            Self::Compression { .. } => NegotiateContextType::COMPRESSION_CAPABILITIES,
            Self::NetName(_) => NegotiateContextType::NETNAME_NEGOTIATE_CONTEXT_ID,
            Self::Transport { .. } => NegotiateContextType::TRANSPORT_CAPABILITIES,
            Self::Rdma { .. } => NegotiateContextType::RDMA_TRANSFORM_CAPABILITIES,
            Self::Signing { .. } => NegotiateContextType::SIGNING_CAPABILITIES,
            Self::Malformed { context_type, .. } | Self::Unknown { context_type, .. } => {
                *context_type
            }
        }
    }
}

/// NEGOTIATE request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiateRequest<'a> {
    pub security_mode: SecurityMode,
    pub capabilities: Capabilities,
    pub client_guid: [u8; 16],
    /// The offered dialects that were present in the bytes.
    pub dialects: Vec<Dialect>,
    /// Present only when 3.1.1 is offered.
    pub contexts: Vec<NegotiateContext<'a>>,
    /// First problem in the variable part (dialects or contexts), if any.
    pub error: Option<Smb2Error>,
}

/// NEGOTIATE response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiateResponse<'a> {
    pub security_mode: SecurityMode,
    pub dialect: Dialect,
    pub server_guid: [u8; 16],
    pub capabilities: Capabilities,
    pub max_transact_size: u32,
    pub max_read_size: u32,
    pub max_write_size: u32,
    /// FILETIME.
    pub system_time: u64,
    /// FILETIME.
    pub server_start_time: u64,
    /// The GSS-API token (usually SPNEGO negTokenInit with the server's mechanisms).
    pub security_buffer: Result<&'a [u8], Smb2Error>,
    /// Present only when 3.1.1 was selected.
    pub contexts: Vec<NegotiateContext<'a>>,
    /// First problem in the contexts, if any.
    pub error: Option<Smb2Error>,
}

const REQUEST_FIXED: usize = 36;
const RESPONSE_FIXED: usize = 64;

impl<'a> NegotiateRequest<'a> {
    /// Parses the body of a NEGOTIATE request message.
    pub fn parse(msg: &'a [u8]) -> Result<Self, Smb2Error> {
        let layout = (
            (le_u16, le_u16, le_u16, le_u16),
            (le_u32, array::<16>, le_u32, le_u16, le_u16),
        );
        let (list, fixed) = record(msg, HEADER_LEN, REQUEST_FIXED, "NEGOTIATE request", layout)?;
        let (
            (_structure_size, dialect_count, security_mode, _reserved),
            (capabilities, client_guid, context_offset, context_count, _reserved2),
        ) = fixed;
        let dialect_count = usize::from(dialect_count);
        let mut error = None;
        // The dialects that are there, up to the count; a cut list keeps its first ones.
        let dialects: Vec<Dialect> = iterator(list, le_u16::<_, nom::error::Error<_>>)
            .take(dialect_count)
            .map(Dialect)
            .collect();
        if dialects.len() < dialect_count {
            let list_start = HEADER_LEN + REQUEST_FIXED;
            error = Some(Smb2Error::from(Short::at(
                msg,
                list_start,
                dialect_count.saturating_mul(2),
                "NEGOTIATE dialect list",
            )));
        }
        let mut contexts = Vec::new();
        if dialects.contains(&Dialect::SMB3_1_1) {
            let offset = context_offset as usize;
            let count = usize::from(context_count);
            if let Err(e) = parse_contexts(msg, offset, count, &mut contexts) {
                error.get_or_insert(e);
            }
        }
        Ok(NegotiateRequest {
            security_mode: SecurityMode(security_mode),
            capabilities: Capabilities(capabilities),
            client_guid,
            dialects,
            contexts,
            error,
        })
    }
}

impl<'a> NegotiateResponse<'a> {
    /// Parses the body of a NEGOTIATE response message.
    pub fn parse(msg: &'a [u8]) -> Result<Self, Smb2Error> {
        let layout = (
            (le_u16, le_u16, le_u16, le_u16, array::<16>),
            (le_u32, le_u32, le_u32, le_u32, le_u64, le_u64),
            (le_u16, le_u16, le_u32),
        );
        let (_, fixed) = record(
            msg,
            HEADER_LEN,
            RESPONSE_FIXED,
            "NEGOTIATE response",
            layout,
        )?;
        let (
            (_structure_size, security_mode, dialect, context_count, server_guid),
            (
                capabilities,
                max_transact_size,
                max_read_size,
                max_write_size,
                system_time,
                server_start_time,
            ),
            (security_offset, security_len, context_offset),
        ) = fixed;
        let dialect = Dialect(dialect);
        let security_buffer = buffer(
            msg,
            usize::from(security_offset),
            usize::from(security_len),
            "NEGOTIATE security buffer",
        );
        let mut contexts = Vec::new();
        let mut error = None;
        if dialect == Dialect::SMB3_1_1 {
            let offset = context_offset as usize;
            let count = usize::from(context_count);
            error = parse_contexts(msg, offset, count, &mut contexts).err();
        }
        Ok(NegotiateResponse {
            security_mode: SecurityMode(security_mode),
            dialect,
            server_guid,
            capabilities: Capabilities(capabilities),
            max_transact_size,
            max_read_size,
            max_write_size,
            system_time,
            server_start_time,
            security_buffer,
            contexts,
            error,
        })
    }
}

/// Reads `count` contexts starting at `offset` (from the header), each 8-byte aligned.
/// Every iteration consumes at least 8 bytes or stops, and `count` is at most 65535.
fn parse_contexts<'a>(
    msg: &'a [u8],
    offset: usize,
    count: usize,
    out: &mut Vec<NegotiateContext<'a>>,
) -> Result<(), Smb2Error> {
    let mut pos = offset;
    for _ in 0..count {
        let (after, (context_type, data_len, _reserved)) = record(
            msg,
            pos,
            8,
            "negotiate context header",
            (le_u16, le_u16, le_u32),
        )?;
        let data_len = usize::from(data_len);
        let (_, data) = field(
            msg,
            after,
            "negotiate context data",
            data_len,
            take(data_len),
        )?;
        out.push(parse_context(NegotiateContextType(context_type), data));
        let end = pos.saturating_add(8).saturating_add(data_len);
        // Contexts start on 8-byte boundaries; the padding after the last one may be absent.
        pos = end.checked_next_multiple_of(8).unwrap_or(end);
    }
    Ok(())
}

/// A list of little-endian u16 ids behind a u16 count (ciphers, signing algorithms).
fn id_list(input: &[u8]) -> IResult<&[u8], Vec<u16>> {
    length_count(le_u16, le_u16).parse(input)
}

fn parse_context(context_type: NegotiateContextType, data: &[u8]) -> NegotiateContext<'_> {
    let parsed = match context_type {
        NegotiateContextType::PREAUTH_INTEGRITY_CAPABILITIES => leading(data, preauth),
        NegotiateContextType::ENCRYPTION_CAPABILITIES => {
            leading(data, id_list).map(|ciphers| NegotiateContext::Encryption { ciphers })
        }
        NegotiateContextType::COMPRESSION_CAPABILITIES => leading(data, compression),
        NegotiateContextType::NETNAME_NEGOTIATE_CONTEXT_ID => {
            Some(NegotiateContext::NetName(utf16le_lossy(data)))
        }
        NegotiateContextType::TRANSPORT_CAPABILITIES => {
            leading(data, le_u32).map(|flags| NegotiateContext::Transport { flags })
        }
        NegotiateContextType::RDMA_TRANSFORM_CAPABILITIES => leading(data, rdma),
        NegotiateContextType::SIGNING_CAPABILITIES => {
            leading(data, id_list).map(|algorithms| NegotiateContext::Signing { algorithms })
        }
        _ => return NegotiateContext::Unknown { context_type, data },
    };
    parsed.unwrap_or(NegotiateContext::Malformed { context_type, data })
}

/// HashAlgorithmCount, SaltLength, the algorithms, the salt.
fn preauth(input: &[u8]) -> IResult<&[u8], NegotiateContext<'_>> {
    (le_u16, le_u16)
        .flat_map(|(n, salt_len)| (count(le_u16, usize::from(n)), take(salt_len)))
        .map(
            |(hash_algorithms, salt)| NegotiateContext::PreauthIntegrity {
                hash_algorithms,
                salt,
            },
        )
        .parse(input)
}

/// CompressionAlgorithmCount, Padding, Flags, the algorithms.
fn compression(input: &[u8]) -> IResult<&[u8], NegotiateContext<'_>> {
    (le_u16, le_u16, le_u32)
        .flat_map(|(n, _padding, flags)| {
            count(le_u16, usize::from(n))
                .map(move |algorithms| NegotiateContext::Compression { flags, algorithms })
        })
        .parse(input)
}

/// TransformCount, two reserved fields (6 bytes), the transforms.
fn rdma(input: &[u8]) -> IResult<&[u8], NegotiateContext<'_>> {
    (le_u16, take(6usize))
        .flat_map(|(n, _reserved)| count(le_u16, usize::from(n)))
        .map(|transforms| NegotiateContext::Rdma { transforms })
        .parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::smb2::codes::{cipher, compression_algorithm, signing_algorithm};
    use crate::proto::smb2::{parse_message, Body};
    use crate::proto::test_hex as hex;

    // ../shared/captures/lab/smb-tree-bad-name.pcap frame 4, SMB2 NEGOTIATE request from
    // smbclient (SMB 2.0.2-3.1.1, four contexts), without the Direct-TCP header.
    const REQUEST: &str = "fe534d42400000000000000000001f00000000000000000000000000000000000000\
        00000000000000000000000000000000000000000000000000000000000024000500010000007f000000e4aab5\
        1c62ac68468bce101bc09843757000000004000000020210020003020311030000010026000000000001002000\
        010047b0877d0225e8c08782a6e2f3ef01b90cdd11602eaa15ebeb9f14e4438996ce000002000a000000000004\
        0002000100040003000000000000000800080000000000030002000100000005002200000000006e0061007300\
        31002e0063006f00720070002e006500780061006d0070006c006500";

    // Same capture, frame 6: the server's NEGOTIATE response selecting 3.1.1.
    const RESPONSE: &str = "fe534d4240000000000000000000010001000000000000000000000000000000000000\
        000000000000000000000000000000000000000000000000000000000041000100110303006e61733100000000\
        00000000000000000f0000000000800000008000000080001c7c9578247edd01000000000000000080004a00d0\
        000000604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f\
        646566696e65645f696e5f5246433431373840706c656173655f69676e6f72650000000000000100260000000000\
        010020000100503d5da136d8919ca8cfe6212d828bc8372ec4de8baa8c8809ff9352a82bdfbb00000200040000\
        0000000100020000000000080004000000000001000200";

    #[test]
    fn request_from_smbclient() {
        let msg = hex(REQUEST);
        let m = parse_message(&msg).unwrap();
        let Ok(Body::NegotiateRequest(req)) = m.body else {
            panic!("{:?}", m.body)
        };
        assert_eq!(req.error, None);
        assert_eq!(
            req.dialects,
            vec![
                Dialect::SMB2_0_2,
                Dialect::SMB2_1,
                Dialect::SMB3_0,
                Dialect::SMB3_0_2,
                Dialect::SMB3_1_1
            ]
        );
        assert!(req.security_mode.contains(SecurityMode::SIGNING_ENABLED));
        assert!(!req.security_mode.contains(SecurityMode::SIGNING_REQUIRED));
        assert_eq!(req.capabilities.0, 0x7f);
        assert!(req.capabilities.contains(Capabilities::ENCRYPTION));
        assert_eq!(req.client_guid[..4], [0xe4, 0xaa, 0xb5, 0x1c]);
        assert_eq!(req.contexts.len(), 4);
        match &req.contexts[0] {
            NegotiateContext::PreauthIntegrity {
                hash_algorithms,
                salt,
            } => {
                assert_eq!(hash_algorithms, &vec![1]);
                assert_eq!(salt.len(), 32);
                assert_eq!(salt[0], 0x47);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            req.contexts[1],
            NegotiateContext::Encryption {
                ciphers: vec![
                    cipher::AES_128_GCM,
                    cipher::AES_128_CCM,
                    cipher::AES_256_GCM,
                    cipher::AES_256_CCM
                ]
            }
        );
        assert_eq!(
            req.contexts[2],
            NegotiateContext::Signing {
                algorithms: vec![
                    signing_algorithm::AES_GMAC,
                    signing_algorithm::AES_CMAC,
                    signing_algorithm::HMAC_SHA256
                ]
            }
        );
        assert_eq!(
            req.contexts[3],
            NegotiateContext::NetName("nas1.corp.example".into())
        );
    }

    #[test]
    fn response_from_samba() {
        let msg = hex(RESPONSE);
        let m = parse_message(&msg).unwrap();
        let Ok(Body::NegotiateResponse(rsp)) = m.body else {
            panic!("{:?}", m.body)
        };
        assert_eq!(rsp.error, None);
        assert_eq!(rsp.dialect, Dialect::SMB3_1_1);
        assert_eq!(rsp.security_mode, SecurityMode::SIGNING_ENABLED);
        assert_eq!(rsp.capabilities.0, 0x0f);
        assert_eq!(&rsp.server_guid[..4], b"nas1");
        assert_eq!(rsp.max_read_size, 0x0080_0000);
        let blob = rsp.security_buffer.unwrap();
        assert_eq!(blob.len(), 74);
        assert_eq!(blob[0], 0x60);
        assert_eq!(rsp.contexts.len(), 3);
        assert_eq!(
            rsp.contexts[1],
            NegotiateContext::Encryption {
                ciphers: vec![cipher::AES_128_GCM]
            }
        );
        assert_eq!(
            rsp.contexts[2],
            NegotiateContext::Signing {
                algorithms: vec![signing_algorithm::AES_GMAC]
            }
        );
    }

    // ../shared/captures/zeek/SMBGhost.pcap frame 4: NEGOTIATE request with a compression
    // context (the CVE-2020-0796 probe), without the Direct-TCP header.
    #[test]
    fn compression_context() {
        let msg = hex("fe534d42400000000000000000001f0000000000000000000000000000000000000000000000000000000000\
            000000000000000000000000000000000000000024000800010000007f000000000000000000000000000000\
            0000000078000000020000000202100222022402000302031003110300000000010026000000000001002000\
            01000000000000000000000000000000000000000000000000000000000000000000000003000a0000000000\
            01000000010000000100000000000000");
        let m = parse_message(&msg).unwrap();
        let Ok(Body::NegotiateRequest(req)) = m.body else {
            panic!("{:?}", m.body)
        };
        assert_eq!(req.dialects.len(), 8);
        assert_eq!(req.error, None);
        assert_eq!(
            req.contexts[1],
            NegotiateContext::Compression {
                flags: 1,
                algorithms: vec![compression_algorithm::LZNT1]
            }
        );
    }

    #[test]
    fn unknown_and_malformed_contexts_are_kept() {
        assert_eq!(
            parse_context(NegotiateContextType(0x99), &[1, 2]),
            NegotiateContext::Unknown {
                context_type: NegotiateContextType(0x99),
                data: &[1, 2]
            }
        );
        // Announces 5 ciphers, carries 1.
        assert_eq!(
            parse_context(NegotiateContextType::ENCRYPTION_CAPABILITIES, &[5, 0, 2, 0]),
            NegotiateContext::Malformed {
                context_type: NegotiateContextType::ENCRYPTION_CAPABILITIES,
                data: &[5, 0, 2, 0]
            }
        );
        assert_eq!(
            parse_context(NegotiateContextType(0x99), &[]).context_type(),
            NegotiateContextType(0x99)
        );
    }

    #[test]
    fn impossible_context_offset_keeps_the_rest() {
        let mut msg = hex(REQUEST);
        // NegotiateContextOffset (body offset 28) pointing far past the end.
        msg[HEADER_LEN + 28..HEADER_LEN + 32].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
        let req = NegotiateRequest::parse(&msg).unwrap();
        assert_eq!(req.dialects.len(), 5);
        assert!(req.contexts.is_empty());
        assert!(req.error.unwrap().is_truncated());
    }

    #[test]
    fn truncated_bodies() {
        let msg = hex(REQUEST);
        assert!(NegotiateRequest::parse(&msg[..HEADER_LEN + 20])
            .unwrap_err()
            .is_truncated());
        let cut = NegotiateRequest::parse(&msg[..HEADER_LEN + 40]).unwrap();
        assert_eq!(cut.dialects.len(), 2);
        assert!(cut.error.is_some());
        let rsp = hex(RESPONSE);
        let cut = NegotiateResponse::parse(&rsp[..HEADER_LEN + 70]).unwrap();
        assert!(cut.security_buffer.unwrap_err().is_truncated());
        assert!(NegotiateResponse::parse(&rsp[..HEADER_LEN + 10]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let mut msg = hex(REQUEST)[..HEADER_LEN].to_vec();
            msg.extend(&body);
            let _ = NegotiateRequest::parse(&msg);
            let _ = NegotiateResponse::parse(&msg);
            for t in 0..10 {
                let _ = parse_context(NegotiateContextType(t), &body);
            }
        }
    }
}
