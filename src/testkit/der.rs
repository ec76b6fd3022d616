//! A minimal DER encoder (X.690) for the ASN.1 that SPNEGO (RFC 4178) and Kerberos (RFC 4120)
//! put on the wire.
//!
//! Contract: every function returns one complete element (tag, definite minimal length,
//! contents) as owned bytes; constructed values take their already-encoded children. Only the
//! low-tag-number form is produced (tag numbers below 31), which covers every tag these
//! protocols use. Output is deterministic: the same arguments give the same bytes.

/// Universal tags used by SPNEGO and Kerberos.
pub mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OID: u8 = 0x06;
    pub const ENUMERATED: u8 = 0x0A;
    pub const GENERAL_STRING: u8 = 0x1B;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const SEQUENCE: u8 = 0x30;
}

/// One element: `tag`, the minimal definite length, `content`.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// `SEQUENCE { children }`.
pub fn seq(children: &[Vec<u8>]) -> Vec<u8> {
    tlv(tag::SEQUENCE, &children.concat())
}

/// Explicit context tag `[n]` (constructed) around one encoded value.
///
/// # Panics
/// If `n` is 31 or more (the high-tag-number form is never needed here).
pub fn ctx(n: u8, inner: Vec<u8>) -> Vec<u8> {
    assert!(n < 31, "context tag {n} needs the high-tag form");
    tlv(0xA0 | n, &inner)
}

/// Application tag `[APPLICATION n]` (constructed) around one encoded value.
///
/// # Panics
/// If `n` is 31 or more.
pub fn app(n: u8, inner: Vec<u8>) -> Vec<u8> {
    assert!(n < 31, "application tag {n} needs the high-tag form");
    tlv(0x60 | n, &inner)
}

/// INTEGER in the shortest two's-complement form.
pub fn int(v: i64) -> Vec<u8> {
    tlv(tag::INTEGER, &minimal_twos_complement(v))
}

/// ENUMERATED, encoded like INTEGER.
pub fn enumerated(v: i64) -> Vec<u8> {
    tlv(tag::ENUMERATED, &minimal_twos_complement(v))
}

fn minimal_twos_complement(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    // Drop leading bytes that only repeat the sign of the next one.
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

pub fn boolean(v: bool) -> Vec<u8> {
    tlv(tag::BOOLEAN, &[if v { 0xFF } else { 0x00 }])
}

pub fn octets(v: &[u8]) -> Vec<u8> {
    tlv(tag::OCTET_STRING, v)
}

/// GeneralString, Kerberos' KerberosString and Realm.
pub fn general_string(s: &str) -> Vec<u8> {
    tlv(tag::GENERAL_STRING, s.as_bytes())
}

/// GeneralizedTime; Kerberos requires the `YYYYMMDDHHMMSSZ` form (RFC 4120 5.2.3).
pub fn generalized_time(s: &str) -> Vec<u8> {
    tlv(tag::GENERALIZED_TIME, s.as_bytes())
}

/// A 32-bit BIT STRING whose bit 0 is the most significant bit of `bits`, as Kerberos
/// KDCOptions/APOptions number them; no unused bits.
pub fn bit_string32(bits: u32) -> Vec<u8> {
    let b = bits.to_be_bytes();
    tlv(tag::BIT_STRING, &[0, b[0], b[1], b[2], b[3]])
}

/// OBJECT IDENTIFIER from dotted text.
///
/// # Panics
/// If `dotted` has fewer than two arcs or an arc is not a number (test programming errors).
pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|a| a.parse().expect("numeric OID arc"))
        .collect();
    assert!(arcs.len() >= 2, "an OID has at least two arcs");
    let mut content = Vec::new();
    let mut push_arc = |mut v: u64| {
        let mut groups = vec![(v & 0x7F) as u8];
        v >>= 7;
        while v > 0 {
            groups.push(0x80 | (v & 0x7F) as u8);
            v >>= 7;
        }
        groups.reverse();
        content.extend_from_slice(&groups);
    };
    push_arc(arcs[0] * 40 + arcs[1]);
    arcs[2..].iter().for_each(|&a| push_arc(a));
    tlv(tag::OID, &content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_use_the_minimal_form() {
        assert_eq!(tlv(0x04, &[1, 2]), [0x04, 2, 1, 2]);
        let long = tlv(0x04, &[0; 200]);
        assert_eq!(&long[..3], &[0x04, 0x81, 200]);
        let longer = tlv(0x04, &[0; 0x1234]);
        assert_eq!(&longer[..4], &[0x04, 0x82, 0x12, 0x34]);
    }

    #[test]
    fn integers_are_minimal_twos_complement() {
        assert_eq!(int(0), [0x02, 1, 0]);
        assert_eq!(int(5), [0x02, 1, 5]);
        assert_eq!(int(128), [0x02, 2, 0, 0x80]);
        assert_eq!(int(-1), [0x02, 1, 0xFF]);
        assert_eq!(int(-135), [0x02, 2, 0xFF, 0x79]);
        assert_eq!(int(0x7fff_ffff), [0x02, 4, 0x7F, 0xFF, 0xFF, 0xFF]);
    }

    #[test]
    fn oids_match_their_well_known_encodings() {
        assert_eq!(oid("1.3.6.1.5.5.2"), [0x06, 6, 0x2b, 6, 1, 5, 5, 2]);
        assert_eq!(
            oid("1.2.840.113554.1.2.2"),
            [0x06, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 1, 2, 2]
        );
    }

    #[test]
    fn tagged_values() {
        assert_eq!(ctx(1, int(5)), [0xA1, 3, 0x02, 1, 5]);
        assert_eq!(app(10, seq(&[])), [0x6A, 2, 0x30, 0]);
        assert_eq!(bit_string32(0x4081_0010), [0x03, 5, 0, 0x40, 0x81, 0, 0x10]);
    }
}
