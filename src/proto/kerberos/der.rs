//! A minimal DER reader for the fixed shapes of RFC 4120 messages.
//!
//! Contract: [`Der`] walks a borrowed byte slice one TLV at a time and never copies values.
//! Lengths are checked against the bytes that are really there before any slice is taken;
//! indefinite lengths, length fields over four octets and tag numbers over 21 bits are
//! errors. Nothing here recurses: callers descend one level per schema field, so nesting
//! depth is bounded by the Kerberos schema, not by the input.

use std::borrow::Cow;
use std::fmt;

use super::KrbError;

/// Longest length field accepted (octets after the 0x8N byte): 4 GiB is already absurd.
const MAX_LENGTH_OCTETS: u8 = 4;
/// Longest high-tag-number form accepted; Kerberos never needs more than one octet.
const MAX_TAG_OCTETS: usize = 3;

/// ASN.1 tag class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Universal,
    Application,
    Context,
    Private,
}

/// An identifier octet group: class, primitive/constructed, number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    pub class: Class,
    pub constructed: bool,
    pub number: u32,
}

impl Tag {
    pub const INTEGER: Tag = Tag::universal(2, false);
    pub const BIT_STRING: Tag = Tag::universal(3, false);
    pub const OCTET_STRING: Tag = Tag::universal(4, false);
    pub const OID: Tag = Tag::universal(6, false);
    pub const SEQUENCE: Tag = Tag::universal(16, true);
    pub const GENERALIZED_TIME: Tag = Tag::universal(24, false);

    pub const fn universal(number: u32, constructed: bool) -> Tag {
        Tag {
            class: Class::Universal,
            constructed,
            number,
        }
    }

    /// `[n]` EXPLICIT, as every RFC 4120 SEQUENCE field is tagged.
    pub const fn context(number: u32) -> Tag {
        Tag {
            class: Class::Context,
            constructed: true,
            number,
        }
    }

    /// `[APPLICATION n]` around a SEQUENCE (messages, Ticket) or the GSS token.
    pub const fn application(number: u32) -> Tag {
        Tag {
            class: Class::Application,
            constructed: true,
            number,
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.class {
            Class::Universal => write!(f, "UNIVERSAL {}", self.number),
            Class::Application => write!(f, "[APPLICATION {}]", self.number),
            Class::Context => write!(f, "[{}]", self.number),
            Class::Private => write!(f, "[PRIVATE {}]", self.number),
        }
    }
}

/// One element: its tag, its value (borrowed) and where the value starts in the input.
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    pub tag: Tag,
    pub value: &'a [u8],
    /// Offset of the first identifier octet, relative to the start of the parsed input.
    pub offset: usize,
    value_offset: usize,
    input_len: usize,
}

impl<'a> Tlv<'a> {
    /// A reader over this element's contents (for constructed elements).
    pub fn contents(&self) -> Der<'a> {
        Der {
            buf: self.value,
            pos: 0,
            base: self.value_offset,
            input_len: self.input_len,
        }
    }

    fn expect_tag(&self, tag: Tag, what: &'static str) -> Result<(), KrbError> {
        if self.tag == tag {
            Ok(())
        } else {
            Err(KrbError::UnexpectedTag {
                what,
                offset: self.offset,
                expected: tag,
                found: self.tag,
            })
        }
    }

    fn invalid(&self, what: &'static str, reason: &'static str) -> KrbError {
        KrbError::InvalidValue {
            what,
            offset: self.offset,
            reason,
        }
    }

    /// A DER INTEGER that fits in 64 bits (Kerberos uses Int32 and UInt32).
    pub fn integer(&self, what: &'static str) -> Result<i64, KrbError> {
        self.expect_tag(Tag::INTEGER, what)?;
        let bytes = self.value;
        let first = *bytes.first().ok_or(self.invalid(what, "empty INTEGER"))?;
        if bytes.len() > 8 {
            return Err(self.invalid(what, "INTEGER longer than 8 octets"));
        }
        // Two's complement: start from all ones for a negative number.
        let init: i64 = if first & 0x80 != 0 { -1 } else { 0 };
        Ok(bytes.iter().fold(init, |acc, &b| (acc << 8) | i64::from(b)))
    }

    pub fn int32(&self, what: &'static str) -> Result<i32, KrbError> {
        i32::try_from(self.integer(what)?).map_err(|_| self.invalid(what, "outside Int32"))
    }

    pub fn uint32(&self, what: &'static str) -> Result<u32, KrbError> {
        u32::try_from(self.integer(what)?).map_err(|_| self.invalid(what, "outside UInt32"))
    }

    /// A UInt32 that some implementations encode as a signed 32-bit value (Heimdal sends
    /// nonces above 2^31 as negative INTEGERs): the same 32 bits either way.
    pub fn uint32_lenient(&self, what: &'static str) -> Result<u32, KrbError> {
        let v = self.integer(what)?;
        if (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&v) {
            Ok(v as u32)
        } else {
            Err(self.invalid(what, "outside 32 bits"))
        }
    }

    /// KerberosString (GeneralString), also accepting the other string types some
    /// implementations send; invalid UTF-8 is replaced rather than rejected, because a name
    /// that prints oddly is still evidence.
    pub fn string(&self, what: &'static str) -> Result<Cow<'a, str>, KrbError> {
        const GENERAL: u32 = 27;
        const UTF8: u32 = 12;
        const PRINTABLE: u32 = 19;
        const IA5: u32 = 22;
        let is_string = self.tag.class == Class::Universal
            && !self.tag.constructed
            && matches!(self.tag.number, GENERAL | UTF8 | PRINTABLE | IA5);
        if !is_string {
            return Err(KrbError::UnexpectedTag {
                what,
                offset: self.offset,
                expected: Tag::universal(GENERAL, false),
                found: self.tag,
            });
        }
        Ok(String::from_utf8_lossy(self.value))
    }

    pub fn octets(&self, what: &'static str) -> Result<&'a [u8], KrbError> {
        self.expect_tag(Tag::OCTET_STRING, what)?;
        Ok(self.value)
    }

    /// The first 32 bits of a BIT STRING (KDCOptions, APOptions), bit 0 as the most
    /// significant bit, missing trailing bits as zero.
    pub fn flags32(&self, what: &'static str) -> Result<u32, KrbError> {
        self.expect_tag(Tag::BIT_STRING, what)?;
        let (unused, bits) = self
            .value
            .split_first()
            .ok_or(self.invalid(what, "empty BIT STRING"))?;
        if *unused > 7 {
            return Err(self.invalid(what, "more than 7 unused bits"));
        }
        let mut word = [0u8; 4];
        for (dst, src) in word.iter_mut().zip(bits) {
            *dst = *src;
        }
        Ok(u32::from_be_bytes(word))
    }

    /// GeneralizedTime as RFC 4120 §5.2.3 restricts it: `YYYYMMDDHHMMSSZ`.
    pub fn time(&self, what: &'static str) -> Result<KerberosTime, KrbError> {
        self.expect_tag(Tag::GENERALIZED_TIME, what)?;
        KerberosTime::parse(self.value).ok_or(self.invalid(what, "not YYYYMMDDHHMMSSZ"))
    }

    pub fn sequence(&self, what: &'static str) -> Result<Der<'a>, KrbError> {
        self.expect_tag(Tag::SEQUENCE, what)?;
        Ok(self.contents())
    }
}

/// A Kerberos timestamp, in whole seconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KerberosTime(pub i64);

impl KerberosTime {
    fn parse(text: &[u8]) -> Option<KerberosTime> {
        let digits = match text {
            [d @ .., b'Z'] if d.len() == 14 => d,
            _ => return None,
        };
        let mut fields = [0i64; 6];
        let widths = [4usize, 2, 2, 2, 2, 2];
        let mut rest = digits;
        for (field, width) in fields.iter_mut().zip(widths) {
            let (head, tail) = rest.split_at_checked(width)?;
            for &c in head {
                if !c.is_ascii_digit() {
                    return None;
                }
                *field = *field * 10 + i64::from(c - b'0');
            }
            rest = tail;
        }
        let [year, month, day, hour, minute, second] = fields;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
            return None;
        }
        // Leap seconds (60) are legal in GeneralizedTime.
        if second > 60 {
            return None;
        }
        let days = days_from_civil(year, month, day);
        Some(KerberosTime(
            days * 86_400 + hour * 3_600 + minute * 60 + second,
        ))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (years 0..=9999, so no overflow).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A cursor over the contents of one constructed element (or a whole input).
#[derive(Clone, Debug)]
pub struct Der<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf[0]` in the whole input, for error messages.
    base: usize,
    /// Length of the whole input: an element running past it is a truncation, one running
    /// past its parent but not the input is a malformed length.
    input_len: usize,
}

impl<'a> Der<'a> {
    pub fn new(input: &'a [u8]) -> Der<'a> {
        Der {
            buf: input,
            pos: 0,
            base: 0,
            input_len: input.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Offset of the next element in the whole input.
    pub fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// Takes `n` raw bytes that are not a TLV (the GSS token id), or `None` if fewer remain.
    pub fn take_raw(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let bytes = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    /// An element cut short: by the end of the input (a truncated capture) or by the end of
    /// its parent (a malformed encoding).
    fn truncated(&self, what: &'static str, at: usize) -> KrbError {
        let offset = self.base.saturating_add(at);
        if self.ends_input() {
            KrbError::Truncated { what, offset }
        } else {
            KrbError::InvalidValue {
                what,
                offset,
                reason: "element header runs past its parent",
            }
        }
    }

    fn ends_input(&self) -> bool {
        self.base.saturating_add(self.buf.len()) >= self.input_len
    }

    /// The tag of the next element, if there is one and it parses.
    pub fn peek_tag(&self) -> Option<Tag> {
        self.clone()
            .read_header("element")
            .ok()
            .map(|(tag, _, _)| tag)
    }

    /// Reads identifier and length; returns the tag, the value's start and its length.
    fn read_header(&mut self, what: &'static str) -> Result<(Tag, usize, usize), KrbError> {
        let start = self.pos;
        let mut at = start;
        let next = |at: &mut usize| -> Option<u8> {
            let b = *self.buf.get(*at)?;
            *at += 1;
            Some(b)
        };
        let id = next(&mut at).ok_or(self.truncated(what, start))?;
        let class = match id >> 6 {
            0 => Class::Universal,
            1 => Class::Application,
            2 => Class::Context,
            _ => Class::Private,
        };
        let constructed = id & 0x20 != 0;
        let mut number = u32::from(id & 0x1f);
        if number == 0x1f {
            number = 0;
            let mut octets = 0;
            loop {
                let b = next(&mut at).ok_or(self.truncated(what, start))?;
                octets += 1;
                if octets > MAX_TAG_OCTETS {
                    return Err(KrbError::InvalidValue {
                        what,
                        offset: self.base.saturating_add(start),
                        reason: "tag number too large",
                    });
                }
                number = (number << 7) | u32::from(b & 0x7f);
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let first_len = next(&mut at).ok_or(self.truncated(what, start))?;
        let len = if first_len < 0x80 {
            usize::from(first_len)
        } else if first_len == 0x80 {
            return Err(KrbError::IndefiniteLength {
                what,
                offset: self.base.saturating_add(start),
            });
        } else {
            let octets = first_len & 0x7f;
            if octets > MAX_LENGTH_OCTETS {
                return Err(KrbError::LengthTooLong {
                    what,
                    offset: self.base.saturating_add(start),
                    octets,
                });
            }
            let mut len: usize = 0;
            for _ in 0..octets {
                let b = next(&mut at).ok_or(self.truncated(what, start))?;
                len = (len << 8) | usize::from(b);
            }
            len
        };
        let tag = Tag {
            class,
            constructed,
            number,
        };
        Ok((tag, at, len))
    }

    /// Reads the next element, whatever it is.
    pub fn read(&mut self, what: &'static str) -> Result<Tlv<'a>, KrbError> {
        let start = self.pos;
        let (tag, value_start, len) = self.read_header(what)?;
        let available = self.buf.len().saturating_sub(value_start);
        if len > available {
            return Err(if self.ends_input() {
                self.truncated(what, start)
            } else {
                KrbError::LengthOverrun {
                    what,
                    offset: self.base.saturating_add(start),
                    len,
                    available,
                }
            });
        }
        let end = value_start.saturating_add(len);
        let value = self.buf.get(value_start..end).unwrap_or_default();
        self.pos = end;
        Ok(Tlv {
            tag,
            value,
            offset: self.base.saturating_add(start),
            value_offset: self.base.saturating_add(value_start),
            input_len: self.input_len,
        })
    }

    /// Reads the next element and checks its tag.
    pub fn expect(&mut self, tag: Tag, what: &'static str) -> Result<Tlv<'a>, KrbError> {
        if self.is_empty() {
            return Err(KrbError::Missing {
                what,
                offset: self.offset(),
            });
        }
        let tlv = self.read(what)?;
        tlv.expect_tag(tag, what)?;
        Ok(tlv)
    }

    /// A required `[n] EXPLICIT` field: returns the single element inside the tag.
    pub fn field(&mut self, n: u32, what: &'static str) -> Result<Tlv<'a>, KrbError> {
        let wrapper = self.expect(Tag::context(n), what)?;
        wrapper.contents().read(what)
    }

    /// An OPTIONAL `[n] EXPLICIT` field; absent when the next tag is anything else.
    pub fn opt_field(&mut self, n: u32, what: &'static str) -> Result<Option<Tlv<'a>>, KrbError> {
        if self.peek_tag() == Some(Tag::context(n)) {
            self.field(n, what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Each element of a SEQUENCE OF, parsed by `item`.
    pub fn each<T>(
        mut self,
        what: &'static str,
        mut item: impl FnMut(Tlv<'a>) -> Result<T, KrbError>,
    ) -> Result<Vec<T>, KrbError> {
        let mut out = Vec::new();
        while !self.is_empty() {
            out.push(item(self.read(what)?)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_twos_complement() {
        let cases: [(&[u8], i64); 5] = [
            (&[0x02, 0x01, 0x05], 5),
            (&[0x02, 0x01, 0xff], -1),
            (&[0x02, 0x02, 0x00, 0x88], 136),
            (&[0x02, 0x04, 0xff, 0xff, 0xff, 0x80], -128),
            (&[0x02, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff], 0xffff_ffff),
        ];
        for (bytes, want) in cases {
            let tlv = Der::new(bytes).read("int").unwrap();
            assert_eq!(tlv.integer("int").unwrap(), want, "{bytes:02x?}");
        }
        let empty = Der::new(&[0x02, 0x00]).read("int").unwrap();
        assert!(empty.integer("int").is_err());
        let long = [0x02, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert!(Der::new(&long).read("int").unwrap().integer("int").is_err());
    }

    #[test]
    fn rejects_indefinite_and_oversized_lengths() {
        assert!(matches!(
            Der::new(&[0x30, 0x80, 0, 0]).read("x"),
            Err(KrbError::IndefiniteLength { offset: 0, .. })
        ));
        assert!(matches!(
            Der::new(&[0x30, 0x85, 1, 0, 0, 0, 0]).read("x"),
            Err(KrbError::LengthTooLong { octets: 5, .. })
        ));
        // Four length octets claiming 4 GiB on 64-bit, or wrapping nothing on 32-bit.
        assert!(matches!(
            Der::new(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0]).read("x"),
            Err(KrbError::Truncated { .. })
        ));
    }

    #[test]
    fn overrun_inside_parent_is_not_truncation() {
        // SEQUENCE of 3 bytes whose inner INTEGER claims 5, followed by more input.
        let bytes = [0x30, 0x03, 0x02, 0x05, 0x01, 0xaa, 0xbb, 0xcc, 0xdd];
        let mut outer = Der::new(&bytes);
        let mut inner = outer.read("seq").unwrap().contents();
        assert!(matches!(
            inner.read("int"),
            Err(KrbError::LengthOverrun {
                offset: 2,
                len: 5,
                available: 1,
                ..
            })
        ));
        // Cut input: the same claim at the end of the input is a truncation.
        let cut = [0x30, 0x05, 0x02, 0x03, 0x01];
        assert!(matches!(
            Der::new(&cut).read("seq"),
            Err(KrbError::Truncated { offset: 0, .. })
        ));
    }

    #[test]
    fn empty_explicit_tag_is_malformed_not_truncated() {
        // SEQUENCE { [0] (empty) } followed by more input.
        let bytes = [0x30, 0x02, 0xa0, 0x00, 0x05, 0x00];
        let mut seq = Der::new(&bytes).read("seq").unwrap().contents();
        assert!(matches!(
            seq.field(0, "pvno"),
            Err(KrbError::InvalidValue { offset: 4, .. })
        ));
    }

    #[test]
    fn high_tag_numbers_are_bounded() {
        let ok = [0x7f, 0x81, 0x00, 0x00];
        assert_eq!(Der::new(&ok).read("x").unwrap().tag, Tag::application(128));
        let too_long = [0x7f, 0x81, 0x81, 0x81, 0x01, 0x00];
        assert!(Der::new(&too_long).read("x").is_err());
    }

    #[test]
    fn kerberos_time_matches_unix_epoch() {
        assert_eq!(
            KerberosTime::parse(b"19700101000000Z"),
            Some(KerberosTime(0))
        );
        // `date -u -d 2026-11-27T04:06:55 +%s`
        assert_eq!(
            KerberosTime::parse(b"20261127040655Z"),
            Some(KerberosTime(1_795_752_415))
        );
        assert_eq!(KerberosTime::parse(b"20261327040655Z"), None);
        assert_eq!(KerberosTime::parse(b"2026112704065Z"), None);
        assert_eq!(KerberosTime::parse(b"20261127040655"), None);
    }

    #[test]
    fn bit_strings_fill_from_the_top() {
        let tlv = Der::new(&[0x03, 0x05, 0x00, 0x40, 0x81, 0x00, 0x10])
            .read("flags")
            .unwrap();
        assert_eq!(tlv.flags32("flags").unwrap(), 0x4081_0010);
        let short = Der::new(&[0x03, 0x02, 0x00, 0x20]).read("flags").unwrap();
        assert_eq!(short.flags32("flags").unwrap(), 0x2000_0000);
    }
}
