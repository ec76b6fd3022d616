//! Bodies of the traffic after setup: CREATE, CLOSE, QUERY_INFO, READ, WRITE, CHANGE_NOTIFY,
//! and the SMB3 transform header.

use super::*;

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
