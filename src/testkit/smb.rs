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

/// CREATE request body ([MS-SMB2] 2.2.13): open an existing file or directory for read.
pub fn create_request(name: &str, directory: bool) -> Vec<u8> {
    let n = utf16le(name);
    let mut b = Vec::new();
    b.extend_from_slice(&57u16.to_le_bytes());
    b.push(0); // SecurityFlags
    b.push(0); // RequestedOplockLevel: none
    b.extend_from_slice(&2u32.to_le_bytes()); // Impersonation
    b.extend_from_slice(&[0; 16]); // SmbCreateFlags, Reserved
    b.extend_from_slice(&0x0012_0089u32.to_le_bytes()); // READ_CONTROL|SYNCHRONIZE|read data/attrs/EA
    b.extend_from_slice(&0u32.to_le_bytes()); // FileAttributes
    b.extend_from_slice(&7u32.to_le_bytes()); // share read, write, delete
    b.extend_from_slice(&1u32.to_le_bytes()); // FILE_OPEN
    let options: u32 = if directory { 0x0000_0001 } else { 0x0000_0040 };
    b.extend_from_slice(&options.to_le_bytes());
    b.extend_from_slice(&120u16.to_le_bytes());
    b.extend_from_slice(&u16le(n.len()));
    b.extend_from_slice(&[0; 8]); // no create contexts
    if n.is_empty() {
        b.push(0); // the Buffer field is at least one byte
    }
    b.extend_from_slice(&n);
    b
}

/// CREATE response body ([MS-SMB2] 2.2.14) for an opened file of `size` bytes.
pub fn create_response(file_id: [u8; 16], directory: bool, size: u64, time: u64) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&89u16.to_le_bytes());
    b.push(0); // OplockLevel
    b.push(0); // Flags
    b.extend_from_slice(&1u32.to_le_bytes()); // FILE_OPENED
    for _ in 0..4 {
        b.extend_from_slice(&time.to_le_bytes());
    }
    b.extend_from_slice(&size.next_multiple_of(4096).to_le_bytes());
    b.extend_from_slice(&size.to_le_bytes());
    let attributes: u32 = if directory { 0x10 } else { 0x20 };
    b.extend_from_slice(&attributes.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&file_id);
    b.extend_from_slice(&[0; 8]); // no create contexts
    b
}

/// CLOSE request body ([MS-SMB2] 2.2.15).
pub fn close_request(file_id: [u8; 16]) -> Vec<u8> {
    let mut b = Vec::with_capacity(24);
    b.extend_from_slice(&24u16.to_le_bytes());
    b.extend_from_slice(&[0; 6]);
    b.extend_from_slice(&file_id);
    b
}

/// CLOSE response body ([MS-SMB2] 2.2.16) without attributes (Flags 0).
pub fn close_response() -> Vec<u8> {
    let mut b = vec![0u8; 60];
    b[0] = 60;
    b
}

/// QUERY_INFO request body ([MS-SMB2] 2.2.37) for a file information class.
pub fn query_info_request(file_id: [u8; 16], info_class: u8, output_len: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(41);
    b.extend_from_slice(&41u16.to_le_bytes());
    b.push(1); // SMB2_0_INFO_FILE
    b.push(info_class);
    b.extend_from_slice(&output_len.to_le_bytes());
    b.extend_from_slice(&104u16.to_le_bytes()); // InputBufferOffset: just after the fixed part
    b.extend_from_slice(&[0; 2]);
    b.extend_from_slice(&[0; 12]); // InputBufferLength, AdditionalInformation, Flags
    b.extend_from_slice(&file_id);
    b
}

/// QUERY_INFO response body ([MS-SMB2] 2.2.38).
pub fn query_info_response(data: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(8 + data.len());
    b.extend_from_slice(&9u16.to_le_bytes());
    b.extend_from_slice(&72u16.to_le_bytes());
    b.extend_from_slice(&u32le(data.len()));
    b.extend_from_slice(data);
    b
}

/// READ request body ([MS-SMB2] 2.2.19).
pub fn read_request(file_id: [u8; 16], offset: u64, length: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(49);
    b.extend_from_slice(&49u16.to_le_bytes());
    b.push(0x50); // Padding: where the server should put the data
    b.push(0);
    b.extend_from_slice(&length.to_le_bytes());
    b.extend_from_slice(&offset.to_le_bytes());
    b.extend_from_slice(&file_id);
    b.extend_from_slice(&[0; 12]); // MinimumCount, Channel, RemainingBytes
    b.extend_from_slice(&[0; 4]); // ReadChannelInfo offset/length
    b.push(0); // Buffer: one byte even when empty
    b
}

/// READ response body ([MS-SMB2] 2.2.20) carrying `data`.
pub fn read_response(data: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(16 + data.len());
    b.extend_from_slice(&17u16.to_le_bytes());
    b.push(0x50);
    b.push(0);
    b.extend_from_slice(&u32le(data.len()));
    b.extend_from_slice(&[0; 8]); // DataRemaining, Reserved2
    b.extend_from_slice(data);
    b
}

/// WRITE request body ([MS-SMB2] 2.2.21) carrying `data`.
pub fn write_request(file_id: [u8; 16], offset: u64, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(48 + data.len());
    b.extend_from_slice(&49u16.to_le_bytes());
    b.extend_from_slice(&0x70u16.to_le_bytes());
    b.extend_from_slice(&u32le(data.len()));
    b.extend_from_slice(&offset.to_le_bytes());
    b.extend_from_slice(&file_id);
    b.extend_from_slice(&[0; 16]); // Channel, RemainingBytes, WriteChannelInfo, Flags
    b.extend_from_slice(data);
    b
}

/// WRITE response body ([MS-SMB2] 2.2.22).
pub fn write_response(count: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(16);
    b.extend_from_slice(&17u16.to_le_bytes());
    b.extend_from_slice(&[0; 2]);
    b.extend_from_slice(&count.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b
}

/// CHANGE_NOTIFY request body ([MS-SMB2] 2.2.35) watching file names, not the subtree.
pub fn change_notify_request(file_id: [u8; 16]) -> Vec<u8> {
    let mut b = Vec::with_capacity(32);
    b.extend_from_slice(&32u16.to_le_bytes());
    b.extend_from_slice(&[0; 2]);
    b.extend_from_slice(&4096u32.to_le_bytes());
    b.extend_from_slice(&file_id);
    b.extend_from_slice(&1u32.to_le_bytes()); // FILE_NOTIFY_CHANGE_FILE_NAME
    b.extend_from_slice(&[0; 4]);
    b
}

/// CHANGE_NOTIFY response body ([MS-SMB2] 2.2.36) reporting one FILE_ACTION_ADDED of `name`.
pub fn change_notify_response(name: &str) -> Vec<u8> {
    let n = utf16le(name);
    let mut info = Vec::with_capacity(12 + n.len());
    info.extend_from_slice(&0u32.to_le_bytes());
    info.extend_from_slice(&1u32.to_le_bytes()); // FILE_ACTION_ADDED
    info.extend_from_slice(&u32le(n.len()));
    info.extend_from_slice(&n);
    query_info_response(&info)
}

/// An SMB3 TRANSFORM_HEADER ([MS-SMB2] 2.2.41) for AES-GCM (11-byte nonce) followed by
/// `original_size` bytes standing in for the ciphertext.
pub fn transform(session_id: u64, original_size: u32, seed: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(52 + original_size as usize);
    m.extend_from_slice(&[0xFD, b'S', b'M', b'B']);
    m.extend_from_slice(&filler(seed, 16)); // Signature (the AEAD tag)
    let mut nonce = filler(seed ^ 0x5a5a_5a5a, 12);
    nonce.resize(16, 0);
    m.extend_from_slice(&nonce);
    m.extend_from_slice(&original_size.to_le_bytes());
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(&1u16.to_le_bytes()); // Flags: encrypted
    m.extend_from_slice(&session_id.to_le_bytes());
    m.extend_from_slice(&filler(seed.wrapping_add(1), original_size as usize));
    m
}

/// SMB1 header ([MS-CIFS] 2.2.3.1) for NEGOTIATE, as a Windows client (request) or a server
/// (response) writes it: NT status codes, Unicode, extended security, long names.
fn smb1_header(reply: bool) -> Vec<u8> {
    let mut h = vec![0xFF, b'S', b'M', b'B', 0x72];
    h.extend_from_slice(&[0; 4]); // Status
    h.push(if reply { 0x98 } else { 0x18 }); // case-insensitive, canonical paths (+ reply)
    h.extend_from_slice(&0xC853u16.to_le_bytes()); // Flags2
    h.extend_from_slice(&[0; 2]); // PIDHigh
    h.extend_from_slice(&[0; 8]); // SecurityFeatures
    h.extend_from_slice(&[0; 2]); // Reserved
    h.extend_from_slice(&0xFFFFu16.to_le_bytes()); // TID
    h.extend_from_slice(&0xFEFFu16.to_le_bytes()); // PIDLow
    h.extend_from_slice(&[0; 2]); // UID
    h.extend_from_slice(&[0; 2]); // MID
    h
}

/// The SMB1 multi-protocol NEGOTIATE request ([MS-SMB] 2.2.4.5.1): dialect strings in order.
pub fn smb1_negotiate_request(dialects: &[&str]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for d in dialects {
        bytes.push(0x02);
        bytes.extend_from_slice(d.as_bytes());
        bytes.push(0);
    }
    let mut m = smb1_header(false);
    m.push(0); // WordCount
    m.extend_from_slice(&u16le(bytes.len()));
    m.extend_from_slice(&bytes);
    m
}

/// The dialects a Windows client that also speaks SMB2 offers in its SMB1 NEGOTIATE.
pub const SMB1_WINDOWS_DIALECTS: [&str; 3] = ["NT LM 0.12", "SMB 2.002", "SMB 2.???"];

/// The SMB1 NEGOTIATE response of a server that accepts none of the dialects: WordCount 1,
/// DialectIndex 0xFFFF ([MS-CIFS] 2.2.4.52.2).
pub fn smb1_negotiate_no_dialect() -> Vec<u8> {
    let mut m = smb1_header(true);
    m.push(1);
    m.extend_from_slice(&0xFFFFu16.to_le_bytes());
    m.extend_from_slice(&[0, 0]); // ByteCount
    m
}

/// First-level encoding of a NetBIOS name (RFC 1001 14.1): padded to 15 characters, the
/// suffix byte, each half-byte as a letter from 'A', behind the length byte 32 and before the
/// empty scope.
fn netbios_name(name: &str, suffix: u8) -> Vec<u8> {
    let mut raw = [b' '; 16];
    for (slot, b) in raw
        .iter_mut()
        .zip(name.to_ascii_uppercase().bytes().take(15))
    {
        *slot = b;
    }
    raw[15] = suffix;
    let mut out = vec![32];
    for b in raw {
        out.push(b'A' + (b >> 4));
        out.push(b'A' + (b & 0x0F));
    }
    out.push(0);
    out
}

/// NetBIOS SESSION REQUEST (RFC 1002 4.3.2) from `calling` (workstation service, suffix
/// 0x00) to `called` (file server service, suffix 0x20), with its 4-byte header.
pub fn nbss_session_request(called: &str, calling: &str) -> Vec<u8> {
    let names = [netbios_name(called, 0x20), netbios_name(calling, 0x00)].concat();
    let len = u16le(names.len());
    [&[0x81, 0, len[1], len[0]][..], &names].concat()
}

/// POSITIVE SESSION RESPONSE (RFC 1002 4.3.3).
pub fn nbss_positive_response() -> Vec<u8> {
    vec![0x82, 0, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::nbss::{self, NbssMessage};
    use crate::proto::smb1::{self, Smb1Body};
    use crate::proto::smb2::{
        self, Body, Capabilities, Dialect, NegotiateContext, SecurityMode, SessionFlags,
        ShareFlags, ShareType, Smb2Pdu,
    };

    fn only(bytes: &[u8]) -> smb2::Smb2Message<'_> {
        let all: Vec<_> = smb2::messages(bytes).collect();
        assert_eq!(all.len(), 1);
        all.into_iter().next().unwrap().unwrap()
    }

    #[test]
    fn header_round_trips() {
        let h = Header::request(Smb2Command::TREE_CONNECT, 7)
            .session(0x1000_0400_0000_0011)
            .tree(5)
            .credits(33)
            .signed(9);
        let p = only(&message(&h, &empty_body())).header;
        assert_eq!(p.command, Smb2Command::TREE_CONNECT);
        assert_eq!(p.message_id, 7);
        assert_eq!(p.session_id, 0x1000_0400_0000_0011);
        assert_eq!(p.tree_id(), Some(5));
        assert_eq!(p.credits, 33);
        assert!(p.is_signed() && !p.is_response());
        let r = Header::response_to(&h, NtStatus::STATUS_PENDING).async_id(0x21);
        let p = only(&message(&r, &error_body())).header;
        assert!(p.is_response() && p.is_async() && !p.is_signed());
        assert_eq!(p.async_id(), Some(0x21));
        assert_eq!(p.status, NtStatus::STATUS_PENDING);
    }

    #[test]
    fn negotiate_request_with_contexts() {
        let req = NegotiateRequest {
            dialects: vec![0x0202, 0x0210, 0x0300, 0x0302, 0x0311],
            security_mode: 1,
            capabilities: 0x7F,
            client_guid: [7; 16],
            contexts: vec![
                NegContext::PreauthIntegrity { seed: 1 },
                NegContext::Encryption(vec![2, 1]),
                NegContext::NetName("nas1.corp.example".into()),
                NegContext::Signing(vec![2, 1]),
            ],
        };
        let msg = message(&Header::request(Smb2Command::NEGOTIATE, 0), &req.body());
        let Ok(Body::NegotiateRequest(n)) = only(&msg).body else {
            panic!("not a negotiate request")
        };
        assert_eq!(n.dialects.last(), Some(&Dialect::SMB3_1_1));
        assert_eq!(n.client_guid, [7; 16]);
        assert!(n.capabilities.contains(Capabilities::ENCRYPTION));
        assert_eq!(n.error, None);
        assert_eq!(n.contexts.len(), 4);
        assert_eq!(
            n.contexts[1],
            NegotiateContext::Encryption {
                ciphers: vec![2, 1]
            }
        );
        assert_eq!(
            n.contexts[2],
            NegotiateContext::NetName("nas1.corp.example".into())
        );
    }

    #[test]
    fn negotiate_response_with_buffer_and_contexts() {
        let resp = NegotiateResponse {
            dialect: 0x0311,
            security_mode: 3,
            server_guid: [2; 16],
            capabilities: 0x6F,
            max_size: 0x80_0000,
            system_time: filetime(super::super::START),
            server_start_time: 0,
            security_buffer: vec![0x60, 0],
            contexts: vec![
                NegContext::PreauthIntegrity { seed: 3 },
                NegContext::Encryption(vec![2]),
            ],
        };
        let h = Header::response_to(
            &Header::request(Smb2Command::NEGOTIATE, 0),
            NtStatus::STATUS_SUCCESS,
        );
        let msg = message(&h, &resp.body());
        let Ok(Body::NegotiateResponse(n)) = only(&msg).body else {
            panic!("not a negotiate response")
        };
        assert_eq!(n.dialect, Dialect::SMB3_1_1);
        assert!(n.security_mode.contains(SecurityMode::SIGNING_REQUIRED));
        assert!(n.capabilities.contains(Capabilities::ENCRYPTION));
        assert_eq!(n.security_buffer, Ok(&[0x60, 0][..]));
        assert_eq!(n.contexts.len(), 2);
        assert_eq!(n.error, None);
    }

    #[test]
    fn session_and_tree_bodies() {
        let req = Header::request(Smb2Command::SESSION_SETUP, 1);
        let m = message(&req, &session_setup_request(1, 0, b"NTLMSSP\0abc"));
        let Ok(Body::SessionSetupRequest(s)) = only(&m).body else {
            panic!()
        };
        assert_eq!(s.security_buffer, Ok(&b"NTLMSSP\0abc"[..]));
        let m = message(
            &Header::response_to(&req, NtStatus::STATUS_SUCCESS),
            &session_setup_response(session_flags::IS_GUEST, &[]),
        );
        let Ok(Body::SessionSetupResponse(s)) = only(&m).body else {
            panic!()
        };
        assert!(s.session_flags.contains(SessionFlags::IS_GUEST));

        let req = Header::request(Smb2Command::TREE_CONNECT, 3);
        let m = message(&req, &tree_connect_request(r"\\nas1.corp.example\data"));
        let Ok(Body::TreeConnectRequest(t)) = only(&m).body else {
            panic!()
        };
        assert_eq!(t.path.as_deref(), Ok(r"\\nas1.corp.example\data"));
        let m = message(
            &Header::response_to(&req, NtStatus::STATUS_SUCCESS),
            &tree_connect_response(share_type::DISK, share_flags::ENCRYPT_DATA, 0, 0x1F01FF),
        );
        let Ok(Body::TreeConnectResponse(t)) = only(&m).body else {
            panic!()
        };
        assert_eq!(t.share_type, ShareType::DISK);
        assert!(t.share_flags.contains(ShareFlags::ENCRYPT_DATA));
        assert_eq!(t.maximal_access, 0x1F01FF);

        let m = message(
            &Header::response_to(&req, NtStatus::STATUS_BAD_NETWORK_NAME),
            &error_body(),
        );
        assert!(matches!(only(&m).body, Ok(Body::Error(_))));
    }

    #[test]
    fn read_write_sizes() {
        let req = Header::request(Smb2Command::READ, 5);
        let m = message(
            &Header::response_to(&req, NtStatus::STATUS_SUCCESS),
            &read_response(&[1; 300]),
        );
        let Ok(Body::ReadResponse(r)) = only(&m).body else {
            panic!()
        };
        assert_eq!((r.data_offset, r.data_length), (0x50, 300));
        let m = message(
            &Header::request(Smb2Command::WRITE, 6),
            &write_request(file_id(1), 0, &[2; 100]),
        );
        let Ok(Body::WriteRequest(w)) = only(&m).body else {
            panic!()
        };
        assert_eq!((w.data_offset, w.length), (0x70, 100));
        let r = Header::response_to(
            &Header::request(Smb2Command::WRITE, 6),
            NtStatus::STATUS_SUCCESS,
        );
        let m = message(&r, &write_response(100));
        assert_eq!(only(&m).body, Ok(Body::HeaderOnly));
        assert_eq!(u32::from_le_bytes(m[68..72].try_into().unwrap()), 100);
    }

    #[test]
    fn compound_chains_with_alignment() {
        let h = Header::request(Smb2Command::CREATE, 10);
        let c = compound(&[
            message(&h, &create_request("docs\\a.txt", false)),
            message(
                &Header::request(Smb2Command::QUERY_INFO, 11).related(),
                &query_info_request(RELATED_FILE_ID, 5, 24),
            ),
            message(
                &Header::request(Smb2Command::CLOSE, 12).related(),
                &close_request(RELATED_FILE_ID),
            ),
        ]);
        let all: Vec<_> = smb2::messages(&c).map(Result::unwrap).collect();
        assert_eq!(all.len(), 3);
        assert_eq!(all[1].offset % 8, 0);
        assert_eq!(all[2].offset % 8, 0);
        assert!(all[1].header.is_related() && all[2].header.is_related());
        assert_eq!(all[2].header.message_id, 12);
    }

    #[test]
    fn transform_header_parses() {
        let t = transform(0x4400_0000_0021, 200, 4);
        let Ok(Smb2Pdu::Encrypted(th)) = smb2::parse_pdu(&t) else {
            panic!()
        };
        assert_eq!(th.session_id, 0x4400_0000_0021);
        assert_eq!(th.original_message_size, 200);
        assert_eq!(th.flags, 1);
        assert_eq!(th.ciphertext.len(), 200);
    }

    #[test]
    fn smb1_negotiate_both_ways() {
        let m = smb1_negotiate_request(&SMB1_WINDOWS_DIALECTS);
        let p = smb1::parse(&m).unwrap();
        let Ok(Smb1Body::NegotiateRequest { dialects }) = p.body else {
            panic!()
        };
        assert_eq!(dialects, SMB1_WINDOWS_DIALECTS);
        let refusal = smb1_negotiate_no_dialect();
        let p = smb1::parse(&refusal).unwrap();
        assert!(p.header.is_response());
        assert!(matches!(
            p.body,
            Ok(Smb1Body::NegotiateResponse {
                dialect_index: smb1::NO_DIALECT,
                ..
            })
        ));
    }

    #[test]
    fn nbss_session_request_names() {
        let r = nbss_session_request("nas1", "wks042");
        let (msg, used) = nbss::parse_message(&r).unwrap();
        assert_eq!(used, r.len());
        let NbssMessage::SessionRequest { called, calling } = msg else {
            panic!()
        };
        assert_eq!((called.name.as_str(), called.suffix), ("NAS1", 0x20));
        assert_eq!((calling.name.as_str(), calling.suffix), ("WKS042", 0));
        assert_eq!(
            nbss::parse_message(&nbss_positive_response()).unwrap().0,
            NbssMessage::PositiveResponse
        );
    }
}
