//! The 64-byte SMB2 packet header ([MS-SMB2] 2.2.1.1 async, 2.2.1.2 sync) as a checked view
//! over borrowed bytes plus the semantic [`Smb2Header`] it converts to.
//!
//! Contract: [`HeaderView::new_checked`] accepts any buffer that holds the header at least up
//! to the end of `SessionId` (48 bytes) and starts with `\xfeSMB`; a snaplen-cut header still
//! yields command, status, message id and session id, with only the signature missing. The
//! header is read once, by one nom layout, when the view is checked; no accessor can panic.

use nom::bytes::complete::take;
use nom::combinator::opt;
use nom::number::complete::{le_u16, le_u32, le_u64};
use nom::{IResult, Parser};

use crate::proto::ntstatus::NtStatus;
use crate::proto::wire::{array, NomErr, Short};

use super::codes::{HeaderFlags, Smb2Command};
use super::Smb2Error;

/// Byte ranges of the header fields.
pub mod field {
    /// A half-open byte range.
    pub type Field = core::ops::Range<usize>;

    pub const PROTOCOL_ID: Field = 0..4;
    pub const STRUCTURE_SIZE: Field = 4..6;
    pub const CREDIT_CHARGE: Field = 6..8;
    /// Status in responses; ChannelSequence/Reserved in 3.x requests.
    pub const STATUS: Field = 8..12;
    pub const COMMAND: Field = 12..14;
    pub const CREDIT: Field = 14..16;
    pub const FLAGS: Field = 16..20;
    pub const NEXT_COMMAND: Field = 20..24;
    pub const MESSAGE_ID: Field = 24..32;
    /// Async header only.
    pub const ASYNC_ID: Field = 32..40;
    /// Sync header only (often called Reserved).
    pub const PROCESS_ID: Field = 32..36;
    /// Sync header only.
    pub const TREE_ID: Field = 36..40;
    pub const SESSION_ID: Field = 40..48;
    pub const SIGNATURE: Field = 48..64;
}

/// Full header length.
pub const HEADER_LEN: usize = 64;
/// The shortest prefix that still tells which message this is and how it ended.
pub const MIN_LAX_LEN: usize = field::SESSION_ID.end;
/// `\xfeSMB`.
pub const PROTOCOL_ID: [u8; 4] = [0xFE, b'S', b'M', b'B'];

/// A checked view of an SMB2 header at the start of `buffer`.
#[derive(Debug, Clone, Copy)]
pub struct HeaderView<T: AsRef<[u8]>> {
    buffer: T,
    /// The fields, read when the view was checked.
    header: Smb2Header,
}

impl<T: AsRef<[u8]>> HeaderView<T> {
    /// Checks the magic and that at least [`MIN_LAX_LEN`] bytes are present.
    pub fn new_checked(buffer: T) -> Result<Self, Smb2Error> {
        let header = read_header(buffer.as_ref())?;
        Ok(HeaderView { buffer, header })
    }

    /// True when all 64 bytes, signature included, are present.
    pub fn is_complete(&self) -> bool {
        self.buffer.as_ref().len() >= HEADER_LEN
    }

    /// `StructureSize` (64 in every valid header).
    pub fn structure_size(&self) -> u16 {
        self.header.structure_size
    }

    pub fn credit_charge(&self) -> u16 {
        self.header.credit_charge
    }

    /// Status. Meaningful in responses only: in 3.x requests these bytes are ChannelSequence.
    pub fn status(&self) -> NtStatus {
        self.header.status
    }

    pub fn command(&self) -> Smb2Command {
        self.header.command
    }

    /// CreditRequest in requests, CreditResponse in responses.
    pub fn credits(&self) -> u16 {
        self.header.credits
    }

    pub fn flags(&self) -> HeaderFlags {
        self.header.flags
    }

    pub fn next_command(&self) -> u32 {
        self.header.next_command
    }

    pub fn message_id(&self) -> u64 {
        self.header.message_id
    }

    /// AsyncId; meaningful only when the ASYNC_COMMAND flag is set.
    pub fn async_id(&self) -> u64 {
        match self.header.ids {
            HeaderIds::Async { async_id } => async_id,
            HeaderIds::Sync {
                process_id,
                tree_id,
            } => u64::from(process_id) | (u64::from(tree_id) << 32),
        }
    }

    /// Reserved/ProcessId of a sync header.
    pub fn process_id(&self) -> u32 {
        self.async_id() as u32
    }

    /// TreeId of a sync header.
    pub fn tree_id(&self) -> u32 {
        (self.async_id() >> 32) as u32
    }

    pub fn session_id(&self) -> u64 {
        self.header.session_id
    }

    /// The 16-byte signature, or `None` when the header was cut before it ended.
    pub fn signature(&self) -> Option<[u8; 16]> {
        self.header.signature
    }

    /// The semantic form.
    pub fn to_header(&self) -> Smb2Header {
        self.header
    }
}

/// The magic, then the fields; a header the bytes end inside before `SessionId` is one error
/// at its start, whichever field it ends in.
fn read_header(bytes: &[u8]) -> Result<Smb2Header, Smb2Error> {
    let short = |_: NomErr<'_>| Smb2Error::from(Short::at(bytes, 0, MIN_LAX_LEN, "SMB2 header"));
    let (rest, magic) = take(PROTOCOL_ID.len()).parse(bytes).map_err(short)?;
    if magic != PROTOCOL_ID {
        return Err(Smb2Error::BadMagic { offset: 0 });
    }
    let (_, header) = header_fields(rest).map_err(short)?;
    Ok(header)
}

/// Everything after the protocol id ([MS-SMB2] 2.2.1); the signature is optional (lax).
fn header_fields(input: &[u8]) -> IResult<&[u8], Smb2Header> {
    let fixed = (
        (le_u16, le_u16, le_u32, le_u16, le_u16, le_u32, le_u32),
        (le_u64, le_u32, le_u32, le_u64),
    );
    (fixed, opt(array::<16>))
        .map(
            |(
                (
                    (structure_size, credit_charge, status, command, credits, flags, next_command),
                    (message_id, words_lo, words_hi, session_id),
                ),
                signature,
            )| {
                let flags = HeaderFlags(flags);
                let ids = if flags.contains(HeaderFlags::ASYNC_COMMAND) {
                    HeaderIds::Async {
                        async_id: u64::from(words_lo) | (u64::from(words_hi) << 32),
                    }
                } else {
                    HeaderIds::Sync {
                        process_id: words_lo,
                        tree_id: words_hi,
                    }
                };
                Smb2Header {
                    structure_size,
                    credit_charge,
                    status: NtStatus(status),
                    command: Smb2Command(command),
                    credits,
                    flags,
                    next_command,
                    message_id,
                    ids,
                    session_id,
                    signature,
                }
            },
        )
        .parse(input)
}

/// The words at bytes 32..40, whose meaning depends on the ASYNC_COMMAND flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderIds {
    /// Sync header: Reserved (a process id in practice) and TreeId.
    Sync { process_id: u32, tree_id: u32 },
    /// Async header (interim STATUS_PENDING responses and their finals).
    Async { async_id: u64 },
}

/// An SMB2 header in semantic form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb2Header {
    pub structure_size: u16,
    pub credit_charge: u16,
    /// Meaningful in responses only (ChannelSequence/Reserved in 3.x requests).
    pub status: NtStatus,
    pub command: Smb2Command,
    pub credits: u16,
    pub flags: HeaderFlags,
    pub next_command: u32,
    pub message_id: u64,
    pub ids: HeaderIds,
    pub session_id: u64,
    /// `None` when the header was cut before its signature.
    pub signature: Option<[u8; 16]>,
}

impl Smb2Header {
    /// Parses the header at the start of `bytes` (lax: see the module contract).
    pub fn parse(bytes: &[u8]) -> Result<Smb2Header, Smb2Error> {
        read_header(bytes)
    }

    /// SERVER_TO_REDIR flag.
    pub fn is_response(&self) -> bool {
        self.flags.contains(HeaderFlags::SERVER_TO_REDIR)
    }

    /// ASYNC_COMMAND flag.
    pub fn is_async(&self) -> bool {
        self.flags.contains(HeaderFlags::ASYNC_COMMAND)
    }

    /// RELATED_OPERATIONS flag (a compound member that inherits ids from the previous one).
    pub fn is_related(&self) -> bool {
        self.flags.contains(HeaderFlags::RELATED_OPERATIONS)
    }

    /// SIGNED flag.
    pub fn is_signed(&self) -> bool {
        self.flags.contains(HeaderFlags::SIGNED)
    }

    /// TreeId of a sync header.
    pub fn tree_id(&self) -> Option<u32> {
        match self.ids {
            HeaderIds::Sync { tree_id, .. } => Some(tree_id),
            HeaderIds::Async { .. } => None,
        }
    }

    /// AsyncId of an async header.
    pub fn async_id(&self) -> Option<u64> {
        match self.ids {
            HeaderIds::Async { async_id } => Some(async_id),
            HeaderIds::Sync { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::test_hex as hex;

    // ../shared/captures/lab/smb-tree-bad-name.pcap frame 19, SMB2 TREE_CONNECT response
    // (STATUS_BAD_NETWORK_NAME), without its 4-byte Direct-TCP header.
    const FRAME19: &str = "fe534d4240000100cc0000c00300010019000000000000000600000000000000\
        00000000000000008b76994b000000008bc102ea23b8c20bf32c03c6e759f20f090000000000000000";

    #[test]
    fn deconstruct_sync_response() {
        let bytes = hex(FRAME19);
        let h = Smb2Header::parse(&bytes).unwrap();
        assert_eq!(h.structure_size, 64);
        assert_eq!(h.credit_charge, 1);
        assert_eq!(h.status, NtStatus::STATUS_BAD_NETWORK_NAME);
        assert_eq!(h.command, Smb2Command::TREE_CONNECT);
        assert_eq!(h.credits, 1);
        assert!(h.is_response());
        assert!(!h.is_async() && !h.is_related());
        assert!(h.is_signed());
        assert_eq!(h.next_command, 0);
        assert_eq!(h.message_id, 6);
        assert_eq!(h.tree_id(), Some(0));
        assert_eq!(h.session_id, 0x4b99_768b);
        assert!(h.signature.is_some());
    }

    #[test]
    fn snaplen_cut_header_keeps_status() {
        // ../shared/captures/lab/smb-tree-bad-name-snaplen128.pcap frame 19: the same
        // response cut after 58 header bytes by tcpdump -s 128.
        let bytes = hex("fe534d4240000100cc0000c003000100190000000000000006000000000000000000000000000000518cc92f\
            00000000a25aa4c8d30e051b9655");
        assert_eq!(bytes.len(), 58);
        let view = HeaderView::new_checked(&bytes[..]).unwrap();
        assert!(!view.is_complete());
        let h = view.to_header();
        assert_eq!(h.status, NtStatus::STATUS_BAD_NETWORK_NAME);
        assert_eq!(h.command, Smb2Command::TREE_CONNECT);
        assert_eq!(h.message_id, 6);
        assert_eq!(h.signature, None);
    }

    #[test]
    fn async_header() {
        // Built from FRAME19 with ASYNC_COMMAND set: bytes 32..40 become the AsyncId.
        let mut bytes = hex(FRAME19);
        bytes[16] |= 0x02;
        bytes[32] = 0x2a;
        let h = Smb2Header::parse(&bytes).unwrap();
        assert_eq!(h.async_id(), Some(0x2a));
        assert_eq!(h.tree_id(), None);
    }

    #[test]
    fn too_short_or_wrong_magic() {
        let bytes = hex(FRAME19);
        assert!(matches!(
            Smb2Header::parse(&bytes[..47]),
            Err(Smb2Error::Truncated {
                needed: 48,
                available: 47,
                ..
            })
        ));
        assert!(matches!(
            Smb2Header::parse(&bytes[..2]),
            Err(Smb2Error::Truncated { .. })
        ));
        let mut bad = bytes.clone();
        bad[0] = 0xff;
        assert_eq!(
            Smb2Header::parse(&bad),
            Err(Smb2Error::BadMagic { offset: 0 })
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            let _ = Smb2Header::parse(&data);
            let mut framed = PROTOCOL_ID.to_vec();
            framed.extend(&data);
            let _ = Smb2Header::parse(&framed);
        }
    }
}
