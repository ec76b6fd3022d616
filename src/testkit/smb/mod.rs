//! SMB message builders: the SMB2 header and the bodies a connection setup (and a little
//! traffic after it) uses, compounding, interim and async responses, the SMB3 transform
//! header, the SMB1 multi-protocol NEGOTIATE and its answers, and the NetBIOS session request
//! of port 139.
//!
//! Contract: each function returns the bytes of one message or body exactly as [MS-SMB2] 2.2,
//! [MS-SMB] 2.2.4.52 and RFC 1002 4.3 lay them out, ready for [`super::nbss_frame`]. Body
//! builders compute every offset from the start of the message's own 64-byte header, so a
//! body stays valid inside a compound. Values a real peer would randomise (GUIDs, salts,
//! signatures, ciphertext) come from [`super::filler`] with a caller-chosen seed, so the bytes
//! are the same on every run. Test support: builders panic on programmer errors only (e.g. a
//! security buffer over 64 KiB), never on their own output.

use crate::proto::ntstatus::NtStatus;
use crate::proto::smb2::{HeaderFlags, Smb2Command};

use super::{filler, Timestamp};

mod files;
mod smb1;
#[cfg(test)]
mod tests;

pub use files::*;
pub use smb1::*;

/// The process id Windows puts in sync request headers (the field is reserved in SMB2).
const WINDOWS_PID: u32 = 0x0000_FEFF;

/// The 64-byte SMB2 header ([MS-SMB2] 2.2.1), sync or async.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub command: Smb2Command,
    /// Status in responses; ChannelSequence (0 here) in requests.
    pub status: NtStatus,
    pub flags: HeaderFlags,
    pub message_id: u64,
    /// `Some` makes this an async header (the ASYNC_COMMAND flag is set on encoding).
    pub async_id: Option<u64>,
    pub process_id: u32,
    pub tree_id: u32,
    pub session_id: u64,
    pub credit_charge: u16,
    /// CreditRequest in requests, CreditResponse in responses.
    pub credits: u16,
    pub next_command: u32,
    pub signature: [u8; 16],
}

impl Header {
    /// A sync request: charge 1, asking for 1 credit, no session or tree yet.
    pub fn request(command: Smb2Command, message_id: u64) -> Header {
        Header {
            command,
            status: NtStatus::STATUS_SUCCESS,
            flags: HeaderFlags(0),
            message_id,
            async_id: None,
            process_id: WINDOWS_PID,
            tree_id: 0,
            session_id: 0,
            credit_charge: 1,
            credits: 1,
            next_command: 0,
            signature: [0; 16],
        }
    }

    /// The response to `request`: same command, ids and charge, SERVER_TO_REDIR set, granting
    /// 1 credit. Servers leave the process id as the client sent it.
    pub fn response_to(request: &Header, status: NtStatus) -> Header {
        Header {
            status,
            flags: HeaderFlags(HeaderFlags::SERVER_TO_REDIR.0),
            credits: 1,
            signature: [0; 16],
            next_command: 0,
            ..*request
        }
    }

    pub fn session(mut self, session_id: u64) -> Header {
        self.session_id = session_id;
        self
    }

    pub fn tree(mut self, tree_id: u32) -> Header {
        self.tree_id = tree_id;
        self
    }

    pub fn credits(mut self, credits: u16) -> Header {
        self.credits = credits;
        self
    }

    pub fn charge(mut self, charge: u16) -> Header {
        self.credit_charge = charge;
        self
    }

    /// Sets SIGNED and a signature derived from `seed` (no key exists to compute a real one;
    /// tshark does not verify signatures without keys either).
    pub fn signed(mut self, seed: u32) -> Header {
        self.flags.0 |= HeaderFlags::SIGNED.0;
        self.signature.copy_from_slice(&filler(seed, 16));
        self
    }

    /// An async header with this AsyncId ([MS-SMB2] 2.2.1.1).
    pub fn async_id(mut self, async_id: u64) -> Header {
        self.async_id = Some(async_id);
        self
    }

    /// RELATED_OPERATIONS: this message uses the ids of the previous one in the compound.
    pub fn related(mut self) -> Header {
        self.flags.0 |= HeaderFlags::RELATED_OPERATIONS.0;
        self
    }

    pub fn encode(&self) -> [u8; 64] {
        let mut h = [0u8; 64];
        h[0..4].copy_from_slice(&[0xFE, b'S', b'M', b'B']);
        h[4..6].copy_from_slice(&64u16.to_le_bytes());
        h[6..8].copy_from_slice(&self.credit_charge.to_le_bytes());
        h[8..12].copy_from_slice(&self.status.0.to_le_bytes());
        h[12..14].copy_from_slice(&self.command.0.to_le_bytes());
        h[14..16].copy_from_slice(&self.credits.to_le_bytes());
        let mut flags = self.flags.0;
        if self.async_id.is_some() {
            flags |= HeaderFlags::ASYNC_COMMAND.0;
        }
        h[16..20].copy_from_slice(&flags.to_le_bytes());
        h[20..24].copy_from_slice(&self.next_command.to_le_bytes());
        h[24..32].copy_from_slice(&self.message_id.to_le_bytes());
        match self.async_id {
            Some(id) => h[32..40].copy_from_slice(&id.to_le_bytes()),
            None => {
                h[32..36].copy_from_slice(&self.process_id.to_le_bytes());
                h[36..40].copy_from_slice(&self.tree_id.to_le_bytes());
            }
        }
        h[40..48].copy_from_slice(&self.session_id.to_le_bytes());
        h[48..64].copy_from_slice(&self.signature);
        h
    }
}

/// Header followed by body.
pub fn message(header: &Header, body: &[u8]) -> Vec<u8> {
    [&header.encode()[..], body].concat()
}

/// Chains whole messages into one compound ([MS-SMB2] 3.2.4.1.4): every message but the last
/// is padded to a multiple of 8 bytes and its NextCommand set to that padded length.
pub fn compound(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, msg) in messages.iter().enumerate() {
        let mut m = msg.clone();
        if i + 1 < messages.len() {
            m.resize(m.len().next_multiple_of(8), 0);
            let next = u32::try_from(m.len()).expect("compound member under 4 GiB");
            m[20..24].copy_from_slice(&next.to_le_bytes());
        }
        out.extend_from_slice(&m);
    }
    out
}

/// Windows FILETIME (100 ns ticks since 1601) of a capture timestamp.
pub fn filetime(ts: Timestamp) -> u64 {
    const EPOCH_DIFF_SECS: u64 = 11_644_473_600;
    (ts.secs() + EPOCH_DIFF_SECS) * 10_000_000 + u64::from(ts.subsec_nanos() / 100)
}

fn u16le(v: usize) -> [u8; 2] {
    u16::try_from(v)
        .expect("SMB2 16-bit length or offset")
        .to_le_bytes()
}

fn u32le(v: usize) -> [u8; 4] {
    u32::try_from(v)
        .expect("SMB2 32-bit length or offset")
        .to_le_bytes()
}

/// Pads `buf` (which starts after a 64-byte header) so the next byte is 8-aligned relative to
/// the header.
fn align8(buf: &mut Vec<u8>) {
    let absolute = 64 + buf.len();
    buf.resize(absolute.next_multiple_of(8) - 64, 0);
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A negotiate context ([MS-SMB2] 2.2.3.1), in request or response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NegContext {
    /// SHA-512 with a 32-byte salt from `seed`.
    PreauthIntegrity {
        seed: u32,
    },
    /// Cipher ids in preference order; an empty list is sent as CipherCount 0.
    Encryption(Vec<u16>),
    Signing(Vec<u16>),
    /// The server name the client is connecting to.
    NetName(String),
}

impl NegContext {
    fn encode(&self) -> Vec<u8> {
        let (ctype, data): (u16, Vec<u8>) = match self {
            NegContext::PreauthIntegrity { seed } => {
                let mut d = vec![1, 0, 32, 0, 1, 0]; // one algorithm, 32-byte salt, SHA-512
                d.extend_from_slice(&filler(*seed, 32));
                (1, d)
            }
            NegContext::Encryption(ciphers) => (2, id_list(ciphers)),
            NegContext::Signing(algs) => (8, id_list(algs)),
            NegContext::NetName(name) => (5, utf16le(name)),
        };
        let mut out = Vec::with_capacity(8 + data.len());
        out.extend_from_slice(&ctype.to_le_bytes());
        out.extend_from_slice(&u16le(data.len()));
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&data);
        out
    }
}

fn id_list(ids: &[u16]) -> Vec<u8> {
    let mut d = u16le(ids.len()).to_vec();
    ids.iter()
        .for_each(|c| d.extend_from_slice(&c.to_le_bytes()));
    d
}

/// Appends 8-aligned contexts; returns the offset (from the header) of the first.
fn put_contexts(body: &mut Vec<u8>, contexts: &[NegContext]) -> usize {
    align8(body);
    let offset = 64 + body.len();
    for (i, c) in contexts.iter().enumerate() {
        if i > 0 {
            align8(body);
        }
        body.extend_from_slice(&c.encode());
    }
    offset
}

/// NEGOTIATE request body ([MS-SMB2] 2.2.3). Contexts are written only when 3.1.1 is offered;
/// otherwise the ClientStartTime field is zero as the spec requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiateRequest {
    pub dialects: Vec<u16>,
    pub security_mode: u16,
    pub capabilities: u32,
    pub client_guid: [u8; 16],
    pub contexts: Vec<NegContext>,
}

impl NegotiateRequest {
    pub fn body(&self) -> Vec<u8> {
        let with_contexts = self.dialects.contains(&0x0311) && !self.contexts.is_empty();
        let mut b = Vec::new();
        b.extend_from_slice(&36u16.to_le_bytes());
        b.extend_from_slice(&u16le(self.dialects.len()));
        b.extend_from_slice(&self.security_mode.to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&self.capabilities.to_le_bytes());
        b.extend_from_slice(&self.client_guid);
        let patch_at = b.len();
        b.extend_from_slice(&[0; 8]); // context offset/count, or ClientStartTime
        self.dialects
            .iter()
            .for_each(|d| b.extend_from_slice(&d.to_le_bytes()));
        if with_contexts {
            let offset = put_contexts(&mut b, &self.contexts);
            b[patch_at..patch_at + 4].copy_from_slice(&u32le(offset));
            b[patch_at + 4..patch_at + 6].copy_from_slice(&u16le(self.contexts.len()));
        }
        b
    }
}

/// NEGOTIATE response body ([MS-SMB2] 2.2.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiateResponse {
    pub dialect: u16,
    pub security_mode: u16,
    pub server_guid: [u8; 16],
    pub capabilities: u32,
    /// MaxTransactSize, MaxReadSize and MaxWriteSize alike.
    pub max_size: u32,
    pub system_time: u64,
    pub server_start_time: u64,
    /// Usually a SPNEGO negTokenInit hint; may be empty.
    pub security_buffer: Vec<u8>,
    /// Only for dialect 3.1.1.
    pub contexts: Vec<NegContext>,
}

impl NegotiateResponse {
    pub fn body(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&65u16.to_le_bytes());
        b.extend_from_slice(&self.security_mode.to_le_bytes());
        b.extend_from_slice(&self.dialect.to_le_bytes());
        let count = if self.dialect == 0x0311 {
            self.contexts.len()
        } else {
            0
        };
        b.extend_from_slice(&u16le(count));
        b.extend_from_slice(&self.server_guid);
        b.extend_from_slice(&self.capabilities.to_le_bytes());
        for _ in 0..3 {
            b.extend_from_slice(&self.max_size.to_le_bytes());
        }
        b.extend_from_slice(&self.system_time.to_le_bytes());
        b.extend_from_slice(&self.server_start_time.to_le_bytes());
        let sec_len = self.security_buffer.len();
        b.extend_from_slice(&u16le(if sec_len > 0 { 128 } else { 0 }));
        b.extend_from_slice(&u16le(sec_len));
        let patch_at = b.len();
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&self.security_buffer);
        if count > 0 {
            let offset = put_contexts(&mut b, &self.contexts);
            b[patch_at..patch_at + 4].copy_from_slice(&u32le(offset));
        }
        b
    }
}

/// SESSION_SETUP request body ([MS-SMB2] 2.2.5): not binding, Capabilities DFS, channel 0.
/// `security_mode` is 1 (signing enabled) or 2 (required).
pub fn session_setup_request(security_mode: u8, previous_session_id: u64, blob: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(24 + blob.len());
    b.extend_from_slice(&25u16.to_le_bytes());
    b.push(0); // Flags
    b.push(security_mode);
    b.extend_from_slice(&1u32.to_le_bytes()); // SMB2_GLOBAL_CAP_DFS
    b.extend_from_slice(&0u32.to_le_bytes()); // Channel
    b.extend_from_slice(&88u16.to_le_bytes());
    b.extend_from_slice(&u16le(blob.len()));
    b.extend_from_slice(&previous_session_id.to_le_bytes());
    b.extend_from_slice(blob);
    b
}

/// SESSION_SETUP response body ([MS-SMB2] 2.2.6).
pub fn session_setup_response(session_flags: u16, blob: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(8 + blob.len());
    b.extend_from_slice(&9u16.to_le_bytes());
    b.extend_from_slice(&session_flags.to_le_bytes());
    b.extend_from_slice(&u16le(if blob.is_empty() { 0 } else { 72 }));
    b.extend_from_slice(&u16le(blob.len()));
    b.extend_from_slice(blob);
    b
}

/// SESSION_SETUP response SessionFlags ([MS-SMB2] 2.2.6).
pub mod session_flags {
    pub const IS_GUEST: u16 = 0x0001;
    pub const IS_NULL: u16 = 0x0002;
    pub const ENCRYPT_DATA: u16 = 0x0004;
}

/// TREE_CONNECT request body ([MS-SMB2] 2.2.9) for a UNC path such as `\\server\share`.
pub fn tree_connect_request(path: &str) -> Vec<u8> {
    let p = utf16le(path);
    let mut b = Vec::with_capacity(8 + p.len());
    b.extend_from_slice(&9u16.to_le_bytes());
    b.extend_from_slice(&[0, 0]); // Flags (Reserved before 3.1.1)
    b.extend_from_slice(&72u16.to_le_bytes());
    b.extend_from_slice(&u16le(p.len()));
    b.extend_from_slice(&p);
    b
}

/// ShareType values ([MS-SMB2] 2.2.10).
pub mod share_type {
    pub const DISK: u8 = 0x01;
    pub const PIPE: u8 = 0x02;
}

/// ShareFlags bits used by the scenarios ([MS-SMB2] 2.2.10).
pub mod share_flags {
    /// Manual caching of documents: the default of a Windows share (value 0 of bits 4-5).
    pub const MANUAL_CACHING: u32 = 0x0000_0000;
    pub const ENCRYPT_DATA: u32 = 0x0000_8000;
}

/// TREE_CONNECT response body ([MS-SMB2] 2.2.10).
pub fn tree_connect_response(
    share_type: u8,
    share_flags: u32,
    capabilities: u32,
    maximal_access: u32,
) -> Vec<u8> {
    let mut b = Vec::with_capacity(16);
    b.extend_from_slice(&16u16.to_le_bytes());
    b.push(share_type);
    b.push(0);
    b.extend_from_slice(&share_flags.to_le_bytes());
    b.extend_from_slice(&capabilities.to_le_bytes());
    b.extend_from_slice(&maximal_access.to_le_bytes());
    b
}

/// The ERROR response body ([MS-SMB2] 2.2.2) without error data: StructureSize 9 and the one
/// ErrorData byte that the structure size counts.
pub fn error_body() -> Vec<u8> {
    vec![9, 0, 0, 0, 0, 0, 0, 0, 0]
}

/// The 4-byte body shared by TREE_DISCONNECT, LOGOFF and ECHO, request and response.
pub fn empty_body() -> Vec<u8> {
    vec![4, 0, 0, 0]
}

/// A 16-byte SMB2_FILEID (persistent, volatile) from `seed`.
pub fn file_id(seed: u32) -> [u8; 16] {
    let mut id = [0u8; 16];
    id.copy_from_slice(&filler(seed, 16));
    id
}

/// The FileId of a related compound request: "use the one the previous request opened".
pub const RELATED_FILE_ID: [u8; 16] = [0xFF; 16];
