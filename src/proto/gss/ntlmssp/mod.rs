//! NTLMSSP messages ([MS-NLMP] 2.2.1): NEGOTIATE, CHALLENGE and AUTHENTICATE, plus the AV
//! pairs of a CHALLENGE's target info and of an NTLMv2 response.
//!
//! Contract: [`parse`] takes the bytes of one message starting at `NTLMSSP\0` (a bare token,
//! or the mechToken/responseToken of SPNEGO). Payload fields are (length, offset) pairs
//! counted from the signature; every one is bounds-checked. Names (domain, user, workstation,
//! target) are decoded lossily into `String` — UTF-16LE when NEGOTIATE_UNICODE is set, OEM
//! (treated as UTF-8/ASCII) otherwise; responses, keys and AV-pair lists stay borrowed.

use nom::bytes::complete::{tag, take};
use nom::combinator::{opt, rest};
use nom::number::complete::{le_u16, le_u32, le_u64};
use nom::sequence::preceded;
use nom::{IResult, Parser};
use thiserror::Error;

use crate::proto::wire::{array, bytes_at, field, leading, utf16le_lossy, NomErr, Short};

/// `NTLMSSP\0`.
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// Errors of the NTLMSSP parser; offsets count from the signature.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NtlmsspError {
    #[error("NTLMSSP: no NTLMSSP signature")]
    BadSignature,
    #[error("NTLMSSP: unknown message type {0}")]
    UnknownType(u32),
    #[error("NTLMSSP: {what} at offset {offset} needs {needed} bytes, {available} available")]
    Truncated {
        what: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
}

/// NEGOTIATE_* flags ([MS-NLMP] 2.2.2.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NtlmFlags(pub u32);

impl NtlmFlags {
    pub const UNICODE: NtlmFlags = NtlmFlags(0x0000_0001);
    pub const OEM: NtlmFlags = NtlmFlags(0x0000_0002);
    pub const REQUEST_TARGET: NtlmFlags = NtlmFlags(0x0000_0004);
    pub const SIGN: NtlmFlags = NtlmFlags(0x0000_0010);
    pub const SEAL: NtlmFlags = NtlmFlags(0x0000_0020);
    pub const DATAGRAM: NtlmFlags = NtlmFlags(0x0000_0040);
    pub const LM_KEY: NtlmFlags = NtlmFlags(0x0000_0080);
    pub const NTLM: NtlmFlags = NtlmFlags(0x0000_0200);
    pub const ANONYMOUS: NtlmFlags = NtlmFlags(0x0000_0800);
    pub const OEM_DOMAIN_SUPPLIED: NtlmFlags = NtlmFlags(0x0000_1000);
    pub const OEM_WORKSTATION_SUPPLIED: NtlmFlags = NtlmFlags(0x0000_2000);
    pub const ALWAYS_SIGN: NtlmFlags = NtlmFlags(0x0000_8000);
    pub const TARGET_TYPE_DOMAIN: NtlmFlags = NtlmFlags(0x0001_0000);
    pub const TARGET_TYPE_SERVER: NtlmFlags = NtlmFlags(0x0002_0000);
    pub const EXTENDED_SESSIONSECURITY: NtlmFlags = NtlmFlags(0x0008_0000);
    pub const IDENTIFY: NtlmFlags = NtlmFlags(0x0010_0000);
    pub const REQUEST_NON_NT_SESSION_KEY: NtlmFlags = NtlmFlags(0x0040_0000);
    pub const TARGET_INFO: NtlmFlags = NtlmFlags(0x0080_0000);
    pub const VERSION: NtlmFlags = NtlmFlags(0x0200_0000);
    pub const KEY_128: NtlmFlags = NtlmFlags(0x2000_0000);
    pub const KEY_EXCH: NtlmFlags = NtlmFlags(0x4000_0000);
    pub const KEY_56: NtlmFlags = NtlmFlags(0x8000_0000);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: NtlmFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

mod av_pairs;
#[cfg(test)]
mod tests;

pub use av_pairs::{AvId, AvPair, AvPairIter, AvPairs};

/// NEGOTIATE_MESSAGE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtlmNegotiate {
    pub flags: NtlmFlags,
    /// Only when OEM_DOMAIN_SUPPLIED is set.
    pub domain: Option<String>,
    /// Only when OEM_WORKSTATION_SUPPLIED is set.
    pub workstation: Option<String>,
    pub version: Option<[u8; 8]>,
}

/// CHALLENGE_MESSAGE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtlmChallenge<'a> {
    pub target_name: String,
    pub flags: NtlmFlags,
    pub server_challenge: [u8; 8],
    pub target_info: AvPairs<'a>,
    pub version: Option<[u8; 8]>,
}

/// Which response the client computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NtlmVersion {
    /// Empty NT response: anonymous (null session).
    Anonymous,
    /// 24-byte NT response.
    V1,
    /// Longer NT response (NTProofStr + client challenge blob).
    V2,
}

/// AUTHENTICATE_MESSAGE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtlmAuthenticate<'a> {
    pub lm_response: &'a [u8],
    pub nt_response: &'a [u8],
    pub domain: String,
    pub user: String,
    pub workstation: String,
    pub encrypted_session_key: &'a [u8],
    pub flags: NtlmFlags,
    pub version: Option<[u8; 8]>,
    /// Present when the payload starts late enough to leave room for it.
    pub mic: Option<&'a [u8]>,
}

/// The parsed NTLMv2 response of an AUTHENTICATE message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ntlmv2Response<'a> {
    pub nt_proof_str: &'a [u8],
    /// FILETIME from the client.
    pub timestamp: u64,
    pub client_challenge: [u8; 8],
    /// Includes MsvAvTargetName and MsvAvFlags when the client sent them.
    pub av_pairs: AvPairs<'a>,
}

impl<'a> NtlmAuthenticate<'a> {
    /// NTLMv1 vs NTLMv2 by the NT response length.
    pub fn ntlm_version(&self) -> NtlmVersion {
        match self.nt_response.len() {
            0 => NtlmVersion::Anonymous,
            1..=24 => NtlmVersion::V1,
            _ => NtlmVersion::V2,
        }
    }

    /// The NTLMv2 structure inside `nt_response`, when it is one.
    pub fn ntlmv2_response(&self) -> Option<Ntlmv2Response<'a>> {
        if self.ntlm_version() != NtlmVersion::V2 {
            return None;
        }
        // NTProofStr(16), RespType, HiRespType, Reserved(6), TimeStamp(8), ChallengeFromClient(8),
        // Reserved(4), then the AV pairs.
        let (nt_proof_str, _types_reserved, timestamp, client_challenge, _reserved, av_pairs) =
            leading(
                self.nt_response,
                (
                    take(16usize),
                    take(8usize),
                    le_u64,
                    array::<8>,
                    take(4usize),
                    rest,
                ),
            )?;
        Some(Ntlmv2Response {
            nt_proof_str,
            timestamp,
            client_challenge,
            av_pairs: AvPairs(av_pairs),
        })
    }
}

/// One NTLMSSP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NtlmMessage<'a> {
    Negotiate(NtlmNegotiate),
    Challenge(NtlmChallenge<'a>),
    Authenticate(NtlmAuthenticate<'a>),
}

/// True when `buf` starts with the NTLMSSP signature.
pub fn is_ntlmssp(buf: &[u8]) -> bool {
    buf.starts_with(SIGNATURE)
}

/// Parses one NTLMSSP message.
pub fn parse(buf: &[u8]) -> Result<NtlmMessage<'_>, NtlmsspError> {
    let (rest, _) = tag(&SIGNATURE[..])
        .parse(buf)
        .map_err(|_: NomErr<'_>| NtlmsspError::BadSignature)?;
    let (rest, message_type) = field(buf, rest, "message type", 4, le_u32)?;
    match message_type {
        1 => parse_negotiate(buf, rest).map(NtlmMessage::Negotiate),
        2 => parse_challenge(buf, rest).map(NtlmMessage::Challenge),
        3 => parse_authenticate(buf, rest).map(NtlmMessage::Authenticate),
        other => Err(NtlmsspError::UnknownType(other)),
    }
}

/// `rest` is what follows the message type in `buf`, here and in the other message parsers.
fn parse_negotiate<'a>(buf: &'a [u8], rest: &'a [u8]) -> Result<NtlmNegotiate, NtlmsspError> {
    let (rest, flags) = field(buf, rest, "NEGOTIATE flags", 4, le_u32)?;
    let flags = NtlmFlags(flags);
    // Old clients send a 16-byte NEGOTIATE without the name fields; tolerate it. Each of
    // these fixed fields is there only when all before it are.
    let (domain_field, workstation_field, version) = leading(
        rest,
        (opt(payload_field), opt(payload_field), opt(array::<8>)),
    )
    .unwrap_or_default();
    let oem = |supplied: NtlmFlags,
               field: Option<PayloadField>,
               at: usize,
               what|
     -> Result<Option<String>, NtlmsspError> {
        if !flags.contains(supplied) {
            return Ok(None);
        }
        let field = field.ok_or_else(|| Short::at(buf, at, 8, what))?;
        Ok(Some(
            String::from_utf8_lossy(field.resolve(buf, what)?).into_owned(),
        ))
    };
    let domain = oem(
        NtlmFlags::OEM_DOMAIN_SUPPLIED,
        domain_field,
        16,
        "NEGOTIATE domain",
    )?;
    let workstation = oem(
        NtlmFlags::OEM_WORKSTATION_SUPPLIED,
        workstation_field,
        24,
        "NEGOTIATE workstation",
    )?;
    let version = version_if(
        flags,
        version,
        32,
        first_payload_offset(buf, &[domain_field]),
    );
    Ok(NtlmNegotiate {
        flags,
        domain,
        workstation,
        version,
    })
}

fn parse_challenge<'a>(buf: &'a [u8], rest: &'a [u8]) -> Result<NtlmChallenge<'a>, NtlmsspError> {
    let (rest, (target_name_field, flags)) = (payload_field, le_u32)
        .parse(rest)
        .map_err(|_: NomErr<'_>| Short::at(buf, 20, 4, "CHALLENGE flags"))?;
    let flags = NtlmFlags(flags);
    let target_name = decode_name(
        target_name_field.resolve(buf, "CHALLENGE target name")?,
        flags,
    );
    let (rest, server_challenge) = field(buf, rest, "CHALLENGE server challenge", 8, array::<8>)?;
    // TargetInfo fields arrived with NTLMv2 (after 8 reserved bytes); a short message simply
    // has none, and then no version either.
    let (target_info_field, version) = match leading(
        rest,
        preceded(take(8usize), (payload_field, opt(array::<8>))),
    ) {
        Some((field, version)) => (Some(field), version),
        None => (None, None),
    };
    let target_info = match target_info_field {
        Some(field) => AvPairs(field.resolve(buf, "CHALLENGE target info")?),
        None => AvPairs::default(),
    };
    let first = first_payload_offset(buf, &[Some(target_name_field), target_info_field]);
    let version = version_if(flags, version, 48, first);
    Ok(NtlmChallenge {
        target_name,
        flags,
        server_challenge,
        target_info,
        version,
    })
}

fn parse_authenticate<'a>(
    buf: &'a [u8],
    rest: &'a [u8],
) -> Result<NtlmAuthenticate<'a>, NtlmsspError> {
    let mut fields = (
        payload_field,
        payload_field,
        payload_field,
        payload_field,
        payload_field,
        payload_field,
        le_u32,
    );
    let (rest, (lm, nt, domain, user, workstation, key, flags)) = fields
        .parse(rest)
        .map_err(|_: NomErr<'_>| Short::at(buf, 60, 4, "AUTHENTICATE flags"))?;
    let flags = NtlmFlags(flags);
    let lm_response = lm.resolve(buf, "AUTHENTICATE LM response")?;
    let nt_response = nt.resolve(buf, "AUTHENTICATE NT response")?;
    let domain_name = decode_name(domain.resolve(buf, "AUTHENTICATE domain")?, flags);
    let user_name = decode_name(user.resolve(buf, "AUTHENTICATE user")?, flags);
    let workstation_name =
        decode_name(workstation.resolve(buf, "AUTHENTICATE workstation")?, flags);
    let encrypted_session_key = key.resolve(buf, "AUTHENTICATE session key")?;
    // Version and MIC are optional fixed fields: present only if the payload starts after them.
    let first = first_payload_offset(buf, &[lm, nt, domain, user, workstation, key].map(Some));
    let version = if first >= 72 {
        leading(rest, array::<8>)
    } else {
        None
    };
    let mic = if first >= 88 {
        leading(rest, preceded(take(8usize), take(16usize)))
    } else {
        None
    };
    Ok(NtlmAuthenticate {
        lm_response,
        nt_response,
        domain: domain_name,
        user: user_name,
        workstation: workstation_name,
        encrypted_session_key,
        flags,
        version,
        mic,
    })
}

/// A payload field's fixed part: (Len, MaxLen, Offset), the offset counted from the signature.
#[derive(Debug, Clone, Copy)]
struct PayloadField {
    len: u16,
    offset: u32,
}

impl PayloadField {
    /// The bytes it points at in `buf`, checked against the bytes there are.
    fn resolve<'a>(self, buf: &'a [u8], what: &'static str) -> Result<&'a [u8], NtlmsspError> {
        let len = usize::from(self.len);
        if len == 0 {
            return Ok(&[]);
        }
        Ok(bytes_at(buf, self.offset as usize, len, what)?)
    }
}

fn payload_field(input: &[u8]) -> IResult<&[u8], PayloadField> {
    (le_u16, le_u16, le_u32)
        .map(|(len, _max_len, offset)| PayloadField { len, offset })
        .parse(input)
}

/// Version is present when the VERSION flag is set and the payload, starting at `first`,
/// leaves room for it at `at`.
fn version_if(
    flags: NtlmFlags,
    version: Option<[u8; 8]>,
    at: usize,
    first: usize,
) -> Option<[u8; 8]> {
    version.filter(|_| flags.contains(NtlmFlags::VERSION) && first >= at + 8)
}

/// Smallest offset among the non-empty fields given, or the message length.
fn first_payload_offset(buf: &[u8], fields: &[Option<PayloadField>]) -> usize {
    fields
        .iter()
        .flatten()
        .filter(|f| f.len > 0)
        .map(|f| f.offset as usize)
        .min()
        .unwrap_or(buf.len())
}

fn decode_name(bytes: &[u8], flags: NtlmFlags) -> String {
    if flags.contains(NtlmFlags::UNICODE) {
        utf16le_lossy(bytes)
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

impl From<Short> for NtlmsspError {
    fn from(s: Short) -> Self {
        NtlmsspError::Truncated {
            what: s.what,
            offset: s.offset,
            needed: s.needed,
            available: s.available,
        }
    }
}
