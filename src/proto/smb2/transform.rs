//! SMB3 transform headers: encryption (`\xfdSMB`, [MS-SMB2] 2.2.41) and compression
//! (`\xfcSMB`, 2.2.42).
//!
//! Contract: the parsers read the fixed header at the start of a session-service payload and
//! borrow what follows (ciphertext or compressed data) without looking at it. An encrypted
//! message shows only its session id and size: enough to say "encrypted from here on".

use nom::bytes::complete::take;
use nom::number::complete::{le_u16, le_u32, le_u64};

use super::Smb2Error;
use crate::proto::wire::{array, record};

/// `\xfdSMB`.
pub const TRANSFORM_PROTOCOL_ID: [u8; 4] = [0xFD, b'S', b'M', b'B'];
/// `\xfcSMB`.
pub const COMPRESSION_PROTOCOL_ID: [u8; 4] = [0xFC, b'S', b'M', b'B'];
/// Size of the encryption transform header.
pub const TRANSFORM_HEADER_LEN: usize = 52;
/// Size of the compression transform header (unchained and chained share the first 16).
pub const COMPRESSION_TRANSFORM_HEADER_LEN: usize = 16;

/// SMB2 TRANSFORM_HEADER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformHeader<'a> {
    pub signature: [u8; 16],
    /// 11 bytes used with CCM, 12 with GCM; the rest is zero.
    pub nonce: [u8; 16],
    /// Size of the plaintext SMB2 message.
    pub original_message_size: u32,
    /// Flags in 3.1.1 (0x0001 = encrypted), EncryptionAlgorithm in 3.0/3.0.2 (0x0001 = CCM).
    pub flags: u16,
    pub session_id: u64,
    /// The encrypted message, as far as present.
    pub ciphertext: &'a [u8],
}

/// SMB2 COMPRESSION_TRANSFORM_HEADER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressionTransformHeader<'a> {
    pub original_compressed_segment_size: u32,
    /// First algorithm (see `compression_algorithm`).
    pub algorithm: u16,
    /// 0x0000 unchained, 0x0001 chained.
    pub flags: u16,
    /// Offset (unchained) or Length (chained).
    pub offset_or_length: u32,
    /// Everything after the 16-byte header.
    pub data: &'a [u8],
}

impl CompressionTransformHeader<'_> {
    /// True when the payload is a chain of compression payload headers.
    pub fn is_chained(&self) -> bool {
        self.flags & 0x0001 != 0
    }
}

/// Parses an encryption transform header at the start of `payload`.
pub fn parse_transform(payload: &[u8]) -> Result<TransformHeader<'_>, Smb2Error> {
    let layout = (
        take(4usize),
        array::<16>,
        array::<16>,
        le_u32,
        le_u16,
        le_u16,
        le_u64,
    );
    let (ciphertext, fixed) = record(
        payload,
        0,
        TRANSFORM_HEADER_LEN,
        "SMB2 transform header",
        layout,
    )?;
    let (magic, signature, nonce, original_message_size, _reserved, flags, session_id) = fixed;
    if magic != TRANSFORM_PROTOCOL_ID {
        return Err(Smb2Error::BadMagic { offset: 0 });
    }
    Ok(TransformHeader {
        signature,
        nonce,
        original_message_size,
        flags,
        session_id,
        ciphertext,
    })
}

/// Parses a compression transform header at the start of `payload`.
pub fn parse_compression_transform(
    payload: &[u8],
) -> Result<CompressionTransformHeader<'_>, Smb2Error> {
    let layout = (take(4usize), le_u32, le_u16, le_u16, le_u32);
    let (data, fixed) = record(
        payload,
        0,
        COMPRESSION_TRANSFORM_HEADER_LEN,
        "SMB2 compression transform header",
        layout,
    )?;
    let (magic, original_compressed_segment_size, algorithm, flags, offset_or_length) = fixed;
    if magic != COMPRESSION_PROTOCOL_ID {
        return Err(Smb2Error::BadMagic { offset: 0 });
    }
    Ok(CompressionTransformHeader {
        original_compressed_segment_size,
        algorithm,
        flags,
        offset_or_length,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::smb2::{compression_algorithm, parse_pdu, Smb2Pdu};
    use crate::proto::test_hex as hex;

    // ../shared/captures/lab/smb3-encrypted-ok.pcap frame 20: the first encrypted message
    // after the TREE_CONNECT to the encrypted share (Direct-TCP header removed).
    const ENCRYPTED: &str =
        "fd534d4242387f07c4294311ca5dcffc33c77e870100000000000000ae48c7ae00000000\
        79000000000001002cad496600000000569ba13a7478cc135b95bd6eecd6be01a6bb046a74279fd2ea672d4e5e\
        2742911a6fb8110b7fa776bb175c3caadd52157492c05aada4213211f553cfa53a14adbc0339d97a2115a2b399\
        62cfb45fb2b924e0638207f20847f4cd2c3dbdcb2befa8c93d63e642a952f9301d47af9e897134ebccba0f6f92\
        140c";

    #[test]
    fn encrypted_message() {
        let bytes = hex(ENCRYPTED);
        let Ok(Smb2Pdu::Encrypted(t)) = parse_pdu(&bytes) else {
            panic!("not a transform")
        };
        assert_eq!(t.signature[0], 0x42);
        assert_eq!(t.nonce[..2], [0x01, 0x00]);
        assert_eq!(t.original_message_size, 0x79);
        assert_eq!(t.flags, 0x0001);
        assert_eq!(t.session_id, 0x6649_ad2c);
        assert_eq!(t.ciphertext.len(), 0x79);
        assert!(parse_transform(&bytes[..51]).unwrap_err().is_truncated());
        assert_eq!(
            parse_compression_transform(&bytes),
            Err(Smb2Error::BadMagic { offset: 0 })
        );
    }

    // No public capture here carries a compressed message; this header is built from
    // [MS-SMB2] 2.2.42.1: unchained, LZ77, 0x1000 bytes originally, data at offset 0.
    #[test]
    fn compression_header() {
        let bytes = hex("fc534d42 00100000 0200 0000 00000000 aabbcc");
        let Ok(Smb2Pdu::Compressed(c)) = parse_pdu(&bytes) else {
            panic!("not compressed")
        };
        assert_eq!(c.original_compressed_segment_size, 0x1000);
        assert_eq!(c.algorithm, compression_algorithm::LZ77);
        assert!(!c.is_chained());
        assert_eq!(c.offset_or_length, 0);
        assert_eq!(c.data, &[0xaa, 0xbb, 0xcc]);
        assert!(parse_compression_transform(&bytes[..15]).is_err());
        assert_eq!(
            parse_transform(&[&bytes[..], &[0u8; 40][..]].concat()),
            Err(Smb2Error::BadMagic { offset: 0 })
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            let _ = parse_transform(&data);
            let _ = parse_compression_transform(&data);
            let mut t = TRANSFORM_PROTOCOL_ID.to_vec();
            t.extend(&data);
            let _ = parse_transform(&t);
            let mut c = COMPRESSION_PROTOCOL_ID.to_vec();
            c.extend(&data);
            let _ = parse_compression_transform(&c);
        }
    }
}
