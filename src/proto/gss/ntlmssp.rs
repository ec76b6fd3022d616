//! NTLMSSP messages ([MS-NLMP] 2.2.1): NEGOTIATE, CHALLENGE and AUTHENTICATE, plus the AV
//! pairs of a CHALLENGE's target info and of an NTLMv2 response.
//!
//! Contract: [`parse`] takes the bytes of one message starting at `NTLMSSP\0` (a bare token,
//! or the mechToken/responseToken of SPNEGO). Payload fields are (length, offset) pairs
//! counted from the signature; every one is bounds-checked. Names (domain, user, workstation,
//! target) are decoded lossily into `String` — UTF-16LE when NEGOTIATE_UNICODE is set, OEM
//! (treated as UTF-8/ASCII) otherwise; responses, keys and AV-pair lists stay borrowed.

use std::fmt;

use nom::bytes::complete::{tag, take};
use nom::combinator::{opt, rest};
use nom::number::complete::{le_u16, le_u32, le_u64};
use nom::sequence::preceded;
use nom::{IResult, Parser};
use thiserror::Error;

use crate::proto::wire::{field, leading, utf16le_lossy, NomErr, Short};

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

/// AV pair id ([MS-NLMP] 2.2.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AvId(pub u16);

impl AvId {
    pub const EOL: AvId = AvId(0);
    pub const NB_COMPUTER_NAME: AvId = AvId(1);
    pub const NB_DOMAIN_NAME: AvId = AvId(2);
    pub const DNS_COMPUTER_NAME: AvId = AvId(3);
    pub const DNS_DOMAIN_NAME: AvId = AvId(4);
    pub const DNS_TREE_NAME: AvId = AvId(5);
    pub const FLAGS: AvId = AvId(6);
    pub const TIMESTAMP: AvId = AvId(7);
    pub const SINGLE_HOST: AvId = AvId(8);
    pub const TARGET_NAME: AvId = AvId(9);
    pub const CHANNEL_BINDINGS: AvId = AvId(10);

    /// The MS-NLMP name, e.g. "MsvAvTargetName".
    pub fn name(self) -> Option<&'static str> {
        const NAMES: [&str; 11] = [
            "MsvAvEOL",
            "MsvAvNbComputerName",
            "MsvAvNbDomainName",
            "MsvAvDnsComputerName",
            "MsvAvDnsDomainName",
            "MsvAvDnsTreeName",
            "MsvAvFlags",
            "MsvAvTimestamp",
            "MsvAvSingleHost",
            "MsvAvTargetName",
            "MsvChannelBindings",
        ];
        NAMES.get(usize::from(self.0)).copied()
    }
}

impl fmt::Display for AvId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{:#06x}", self.0),
        }
    }
}

/// One AV pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvPair<'a> {
    pub id: AvId,
    pub value: &'a [u8],
}

impl AvPair<'_> {
    /// The value as UTF-16LE text (the name-valued ids).
    pub fn as_string(&self) -> String {
        utf16le_lossy(self.value)
    }

    /// The value as a little-endian u32 (MsvAvFlags).
    pub fn as_u32(&self) -> Option<u32> {
        leading(self.value, le_u32)
    }

    /// The value as a little-endian u64 (MsvAvTimestamp, a FILETIME).
    pub fn as_u64(&self) -> Option<u64> {
        leading(self.value, le_u64)
    }
}

/// A borrowed AV-pair list; iterate with [`AvPairs::iter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AvPairs<'a>(pub &'a [u8]);

impl<'a> AvPairs<'a> {
    /// Pairs up to MsvAvEOL; a pair that runs past the end yields one error and stops.
    pub fn iter(&self) -> AvPairIter<'a> {
        AvPairIter {
            rest: self.0,
            offset: 0,
            done: false,
        }
    }

    /// The first pair with this id (ignoring malformed tails).
    pub fn get(&self, id: AvId) -> Option<AvPair<'a>> {
        self.iter().map_while(Result::ok).find(|p| p.id == id)
    }

    /// MsvAvTargetName: the SPN the client used, e.g. "cifs/nas1.corp.example".
    pub fn target_name(&self) -> Option<String> {
        self.get(AvId::TARGET_NAME).map(|p| p.as_string())
    }

    /// MsvAvFlags.
    pub fn flags(&self) -> Option<u32> {
        self.get(AvId::FLAGS).and_then(|p| p.as_u32())
    }

    /// MsvAvNbDomainName.
    pub fn nb_domain_name(&self) -> Option<String> {
        self.get(AvId::NB_DOMAIN_NAME).map(|p| p.as_string())
    }

    /// MsvAvNbComputerName.
    pub fn nb_computer_name(&self) -> Option<String> {
        self.get(AvId::NB_COMPUTER_NAME).map(|p| p.as_string())
    }

    /// MsvAvDnsComputerName.
    pub fn dns_computer_name(&self) -> Option<String> {
        self.get(AvId::DNS_COMPUTER_NAME).map(|p| p.as_string())
    }

    /// MsvAvDnsDomainName.
    pub fn dns_domain_name(&self) -> Option<String> {
        self.get(AvId::DNS_DOMAIN_NAME).map(|p| p.as_string())
    }

    /// MsvAvTimestamp (FILETIME).
    pub fn timestamp(&self) -> Option<u64> {
        self.get(AvId::TIMESTAMP).and_then(|p| p.as_u64())
    }
}

/// Iterator over an AV-pair list. Each step consumes at least 4 bytes or stops.
#[derive(Debug, Clone)]
pub struct AvPairIter<'a> {
    rest: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> Iterator for AvPairIter<'a> {
    type Item = Result<AvPair<'a>, NtlmsspError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.rest.is_empty() {
            return None;
        }
        let id_len: IResult<&[u8], (u16, u16)> = (le_u16, le_u16).parse(self.rest);
        let Ok((value_at, (id, len))) = id_len else {
            self.done = true;
            return Some(Err(self.truncated(4)));
        };
        if id == AvId::EOL.0 {
            self.done = true;
            return None;
        }
        let len = usize::from(len);
        let value: IResult<&[u8], &[u8]> = take(len).parse(value_at);
        let Ok((rest, value)) = value else {
            self.done = true;
            return Some(Err(self.truncated(4 + len)));
        };
        self.rest = rest;
        self.offset = self.offset.saturating_add(4 + len);
        Some(Ok(AvPair {
            id: AvId(id),
            value,
        }))
    }
}

impl AvPairIter<'_> {
    fn truncated(&self, needed: usize) -> NtlmsspError {
        NtlmsspError::Truncated {
            what: "AV pair",
            offset: self.offset,
            needed,
            available: self.rest.len(),
        }
    }
}

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
                    bytes8,
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
    let (domain_field, workstation_field, version) =
        leading(rest, (opt(payload_field), opt(payload_field), opt(bytes8))).unwrap_or_default();
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
    let (rest, server_challenge) = field(buf, rest, "CHALLENGE server challenge", 8, bytes8)?;
    // TargetInfo fields arrived with NTLMv2 (after 8 reserved bytes); a short message simply
    // has none, and then no version either.
    let (target_info_field, version) =
        match leading(rest, preceded(take(8usize), (payload_field, opt(bytes8)))) {
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
        leading(rest, bytes8)
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
        let offset = self.offset as usize;
        let (_, bytes) = preceded(take(offset), take(len))
            .parse(buf)
            .map_err(|_: NomErr<'_>| Short::at(buf, offset, len, what))?;
        Ok(bytes)
    }
}

fn payload_field(input: &[u8]) -> IResult<&[u8], PayloadField> {
    (le_u16, le_u16, le_u32)
        .map(|(len, _max_len, offset)| PayloadField { len, offset })
        .parse(input)
}

/// Eight bytes as an array (challenges, the version).
fn bytes8(input: &[u8]) -> IResult<&[u8], [u8; 8]> {
    take(8usize)
        .map_opt(|b: &[u8]| b.try_into().ok())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let clean: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
        clean
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    // ../shared/captures/lab/smb-tree-bad-name.pcap frame 8: NTLMSSP NEGOTIATE (the
    // mechToken inside SPNEGO in the SMB2 SESSION_SETUP request).
    const NEGOTIATE: &str =
        "4e544c4d53535000010000001582086200000000280000000000000028000000060100000000000f";

    // Same capture, frame 9: NTLMSSP CHALLENGE from Samba (responseToken of negTokenResp).
    const CHALLENGE: &str =
        "4e544c4d5353500002000000080008003800000015828a622488e19e270eedf1000000000000000038003800\
        40000000060100000000000f4e00410053003100020008004e00410053003100010008004e00410053003100\
        04000000030008006e00610073003100070008003ad69578247edd0100000000";

    // Same capture, frame 10: NTLMSSP AUTHENTICATE, NTLMv2, CORP\dwright from WKS042 with
    // MsvAvTargetName cifs/nas1.corp.example.
    const AUTHENTICATE: &str =
        "4e544c4d53535000030000001800180058000000e400e4007000000008000800540100000e000e005c010000\
        0c000c006a010000100010007601000015820862060100000000000fd33977ec6232ac2b7083a4228861a3d5\
        000000000000000000000000000000000000000000000000a64c5f3206dab5f7ce80eeb8ee055da901010000\
        000000003ad69578247edd0133fecf3895e912bc00000000020008004e00410053003100010008004e004100\
        5300310004000000030008006e00610073003100070008003ad69578247edd01060004000200000008003000\
        3000000000000000000000000000000034c4207db7a6812187ba65faf3144c535dd63b6743927dfee3b13375\
        da3f68660a0010000000000000000000000000000000000009002c0063006900660073002f006e0061007300\
        31002e0063006f00720070002e006500780061006d0070006c0065000000000043004f005200500064007700\
        7200690067006800740057004b0053003000340032005207c6336ae40b4b9d7a2ed0a8724e1a";

    #[test]
    fn negotiate() {
        let NtlmMessage::Negotiate(n) = parse(&hex(NEGOTIATE)).unwrap() else {
            panic!()
        };
        assert_eq!(n.flags, NtlmFlags(0x6208_8215));
        assert!(n.flags.contains(NtlmFlags::UNICODE));
        assert_eq!(n.domain, None);
        assert_eq!(n.workstation, None);
        assert_eq!(n.version, Some([6, 1, 0, 0, 0, 0, 0, 0x0f]));
    }

    #[test]
    fn challenge() {
        let bytes = hex(CHALLENGE);
        let NtlmMessage::Challenge(c) = parse(&bytes).unwrap() else {
            panic!()
        };
        assert_eq!(c.target_name, "NAS1");
        assert_eq!(c.flags, NtlmFlags(0x628a_8215));
        assert_eq!(
            c.server_challenge,
            [0x24, 0x88, 0xe1, 0x9e, 0x27, 0x0e, 0xed, 0xf1]
        );
        assert_eq!(c.target_info.nb_domain_name().as_deref(), Some("NAS1"));
        assert_eq!(c.target_info.nb_computer_name().as_deref(), Some("NAS1"));
        assert_eq!(c.target_info.dns_domain_name().as_deref(), Some(""));
        assert_eq!(c.target_info.dns_computer_name().as_deref(), Some("nas1"));
        assert_eq!(c.target_info.timestamp(), Some(0x01dd_7e24_7895_d63a));
        assert_eq!(c.target_info.iter().count(), 5);
        assert!(c.version.is_some());
    }

    #[test]
    fn authenticate_ntlmv2_with_target_name() {
        let bytes = hex(AUTHENTICATE);
        let NtlmMessage::Authenticate(a) = parse(&bytes).unwrap() else {
            panic!()
        };
        assert_eq!(a.domain, "CORP");
        assert_eq!(a.user, "dwright");
        assert_eq!(a.workstation, "WKS042");
        assert_eq!(a.lm_response.len(), 24);
        assert_eq!(a.nt_response.len(), 0xe4);
        assert_eq!(a.encrypted_session_key.len(), 16);
        assert_eq!(a.ntlm_version(), NtlmVersion::V2);
        assert!(a.version.is_some());
        assert_eq!(a.mic.map(<[u8]>::len), Some(16));
        let v2 = a.ntlmv2_response().unwrap();
        assert_eq!(v2.timestamp, 0x01dd_7e24_7895_d63a);
        assert_eq!(
            v2.av_pairs.target_name().as_deref(),
            Some("cifs/nas1.corp.example")
        );
        assert_eq!(v2.av_pairs.flags(), Some(2));
        assert!(v2.av_pairs.iter().all(|p| p.is_ok()));
    }

    // ../shared/captures/zeek/raw_ntlm_in_smb.pcap frame 22: bare NTLMSSP AUTHENTICATE in
    // an SMB1 SESSION_SETUP_ANDX (no SPNEGO), TEST-F7DFBC3FE9\test from BABYBOOK, with
    // MsvAvTargetName cifs/192.168.56.101.
    const RAW_AUTH: &str =
        "4e544c4d5353500003000000180018008e00000002010201a60000001e001e00580000000800080076000000\
        100010007e00000010001000a8010000050288620601b01d0f00000067395ddc5150115281dd3d29b6058735\
        54004500530054002d0046003700440046004200430033004600450039007400650073007400420041004200\
        590042004f004f004b00000000000000000000000000000000000000000000000000020a2c94cbf8d66168d1\
        b93068775845010100000000000080a93ad3d88fd1013f2198b2fdb491c70000000001001e00540045005300\
        54002d00460037004400460042004300330046004500390002001e0054004500530054002d00460037004400\
        460042004300330046004500390003001e0074006500730074002d0066003700640066006200630033006600\
        6500390004001e0074006500730074002d006600370064006600620063003300660065003900060004000300\
        00000900260063006900660073002f003100390032002e003100360038002e00350036002e00310030003100\
        0a001000000000000000000000000000000000000000000000000000eb729686fcaacfadb13418fa494760de";

    #[test]
    fn raw_authenticate_from_smb1() {
        let bytes = hex(RAW_AUTH);
        let NtlmMessage::Authenticate(a) = parse(&bytes).unwrap() else {
            panic!()
        };
        assert_eq!(a.domain, "TEST-F7DFBC3FE9");
        assert_eq!(a.user, "test");
        assert_eq!(a.workstation, "BABYBOOK");
        assert_eq!(a.ntlm_version(), NtlmVersion::V2);
        let v2 = a.ntlmv2_response().unwrap();
        assert_eq!(
            v2.av_pairs.target_name().as_deref(),
            Some("cifs/192.168.56.101")
        );
        assert_eq!(v2.av_pairs.flags(), Some(3));
    }

    #[test]
    fn versions_by_nt_length() {
        let bytes = hex(AUTHENTICATE);
        let mut a = match parse(&bytes).unwrap() {
            NtlmMessage::Authenticate(a) => a,
            _ => panic!(),
        };
        a.nt_response = &[0; 24];
        assert_eq!(a.ntlm_version(), NtlmVersion::V1);
        assert_eq!(a.ntlmv2_response(), None);
        a.nt_response = &[];
        assert_eq!(a.ntlm_version(), NtlmVersion::Anonymous);
    }

    #[test]
    fn oem_strings_without_unicode() {
        // Built from [MS-NLMP] 2.2.1.1: NEGOTIATE with OEM domain "DOM" and workstation "WS".
        let mut m = SIGNATURE.to_vec();
        m.extend(1u32.to_le_bytes());
        m.extend((0x3002u32).to_le_bytes());
        m.extend([3, 0, 3, 0, 32, 0, 0, 0]);
        m.extend([2, 0, 2, 0, 35, 0, 0, 0]);
        m.extend(b"DOMWS");
        let NtlmMessage::Negotiate(n) = parse(&m).unwrap() else {
            panic!()
        };
        assert_eq!(n.domain.as_deref(), Some("DOM"));
        assert_eq!(n.workstation.as_deref(), Some("WS"));
        assert_eq!(n.version, None);
    }

    #[test]
    fn truncated_and_impossible() {
        let bytes = hex(AUTHENTICATE);
        assert!(matches!(
            parse(&bytes[..200]),
            Err(NtlmsspError::Truncated { .. })
        ));
        assert_eq!(
            parse(b"NTLMSSX\0\x01\0\0\0"),
            Err(NtlmsspError::BadSignature)
        );
        assert_eq!(
            parse(b"NTLMSSP\0\x09\0\0\0"),
            Err(NtlmsspError::UnknownType(9))
        );
        let mut bad = bytes.clone();
        bad[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse(&bad).is_err());
        // An AV pair that runs past the end yields one error and stops.
        let pairs = AvPairs(&[2, 0, 9, 0, b'x']);
        let items: Vec<_> = pairs.iter().collect();
        assert_eq!(items.len(), 1);
        assert!(items[0].is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse(&data);
            for t in 1u8..4 {
                let mut m = SIGNATURE.to_vec();
                m.extend([t, 0, 0, 0]);
                m.extend(&data);
                if let Ok(NtlmMessage::Authenticate(a)) = parse(&m) {
                    if let Some(v2) = a.ntlmv2_response() {
                        let _ = v2.av_pairs.iter().count();
                        let _ = v2.av_pairs.target_name();
                    }
                }
                if let Ok(NtlmMessage::Challenge(c)) = parse(&m) {
                    let _ = c.target_info.iter().count();
                }
            }
            let _ = AvPairs(&data).iter().count();
        }
    }
}
