//! ASN.1 DER as the Kerberos and SPNEGO parsers read it, on der-parser.
//!
//! Contract: der-parser ([`ber_read_element_header`]) reads each element's identifier and
//! length octets; this module checks the length against the bytes that are really there,
//! borrows the content without copying, and keeps every element's offset in the whole input
//! so that errors can say where. Two layers:
//! - [`split_element`] splits one element off the front of a slice, or names the
//!   [`ElementFault`]; SPNEGO maps that to its own errors.
//! - [`Reader`] and [`Element`] walk RFC 4120-style schemas (SEQUENCE, `[n] EXPLICIT` fields,
//!   SEQUENCE OF, INTEGER, KerberosString, GeneralizedTime, OCTET STRING, BIT STRING) and
//!   return an [`Error`] naming the field and its offset, which Kerberos converts into its own.
//!
//! der-parser's BER header reader is used, not its DER one: the DER one also refuses
//! non-minimal length octets, which these parsers have always accepted. The limits that keep
//! a hostile length or tag harmless are checked here instead: indefinite lengths, length
//! fields over four octets and tag numbers over three octets (21 bits) are faults. Nothing here
//! recurses: callers descend one level per schema field, so nesting depth is bounded by the
//! schema, not by the input, and no input can make these functions panic.

use std::borrow::Cow;
use std::fmt;

use der_parser::ber::{ber_read_element_header, Class as BerClass, Length};

/// Longest length field accepted (octets after the 0x8N byte): 4 GiB is already absurd.
const MAX_LENGTH_OCTETS: u8 = 4;
/// Longest high-tag-number form accepted (octets after the first); Kerberos needs one.
const MAX_TAG_OCTETS: usize = 3;

/// ASN.1 tag class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Universal,
    Application,
    Context,
    Private,
}

impl From<BerClass> for Class {
    fn from(class: BerClass) -> Class {
        match class {
            BerClass::Universal => Class::Universal,
            BerClass::Application => Class::Application,
            BerClass::ContextSpecific => Class::Context,
            BerClass::Private => Class::Private,
        }
    }
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

/// An element's identifier and length octets, as der-parser read them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub tag: Tag,
    /// The first identifier octet as sent (the whole identifier in the low-tag form).
    pub identifier: u8,
    /// Identifier plus length octets.
    pub header_len: usize,
    /// What the length octets claim; not yet checked against the input.
    pub len: usize,
}

/// Why the bytes at the start of a slice are not an element header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderFault {
    /// The slice ends inside the identifier or length octets.
    Truncated,
    /// A high tag number of more than [`MAX_TAG_OCTETS`] octets.
    TagTooLong,
    /// The BER indefinite form (`0x80`), which DER forbids.
    Indefinite,
    /// A length field of this many octets (more than [`MAX_LENGTH_OCTETS`]).
    LengthTooLong(u8),
}

/// Why one element could not be split off the front of a slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ElementFault {
    Header(HeaderFault),
    /// The header is sound but claims `len` content bytes where `available` follow it.
    ContentOverrun {
        header_len: usize,
        len: usize,
        available: usize,
    },
}

/// Reads the identifier and length octets at the start of `input`.
pub(crate) fn read_header(input: &[u8]) -> Result<Header, HeaderFault> {
    let (rest, header) = ber_read_element_header(input).map_err(|_| locate_failure(input))?;
    let tag_octets = header.raw_tag().map_or(1, <[u8]>::len);
    if tag_octets > 1 + MAX_TAG_OCTETS {
        return Err(HeaderFault::TagTooLong);
    }
    let len = match header.length() {
        Length::Definite(len) => len,
        Length::Indefinite => return Err(HeaderFault::Indefinite),
    };
    let header_len = input.len().saturating_sub(rest.len());
    // der-parser takes up to eight length octets; more than four is refused here.
    let length_octets = header_len.saturating_sub(tag_octets + 1);
    if length_octets > usize::from(MAX_LENGTH_OCTETS) {
        return Err(HeaderFault::LengthTooLong(
            u8::try_from(length_octets).unwrap_or(u8::MAX),
        ));
    }
    Ok(Header {
        tag: Tag {
            class: header.class().into(),
            constructed: header.is_constructed(),
            number: header.tag().0,
        },
        identifier: input.first().copied().unwrap_or_default(),
        header_len,
        len,
    })
}

/// Names the fault of a header der-parser refused. Its error says what went wrong but not at
/// which octet, and callers report the first fault in reading order (a 5-octet tag number is
/// "tag too long" even when the length octets are missing too), so the identifier and the
/// first length octet are looked at again here.
fn locate_failure(input: &[u8]) -> HeaderFault {
    let Some(&id) = input.first() else {
        return HeaderFault::Truncated;
    };
    let mut tag_octets = 1;
    if id & 0x1f == 0x1f {
        loop {
            let Some(&b) = input.get(tag_octets) else {
                return HeaderFault::Truncated;
            };
            if tag_octets > MAX_TAG_OCTETS {
                return HeaderFault::TagTooLong;
            }
            tag_octets += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    match input.get(tag_octets) {
        Some(0x80) => HeaderFault::Indefinite,
        Some(&b) if b > 0x80 && b & 0x7f > MAX_LENGTH_OCTETS => {
            HeaderFault::LengthTooLong(b & 0x7f)
        }
        // The identifier and first length octet are sound: the length octets are cut.
        _ => HeaderFault::Truncated,
    }
}

/// Splits one element off the front of `input`: its header, its content and what follows.
pub(crate) fn split_element(input: &[u8]) -> Result<(Header, &[u8], &[u8]), ElementFault> {
    let header = read_header(input).map_err(ElementFault::Header)?;
    let after = input.get(header.header_len..).unwrap_or_default();
    match after.split_at_checked(header.len) {
        Some((content, rest)) => Ok((header, content, rest)),
        None => Err(ElementFault::ContentOverrun {
            header_len: header.header_len,
            len: header.len,
            available: after.len(),
        }),
    }
}

/// Why a schema walk failed; offsets count from the start of the input the [`Reader`] began
/// with. Kerberos turns each variant into its own error of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Error {
    Truncated {
        what: &'static str,
        offset: usize,
    },
    LengthOverrun {
        what: &'static str,
        offset: usize,
        len: usize,
        available: usize,
    },
    IndefiniteLength {
        what: &'static str,
        offset: usize,
    },
    LengthTooLong {
        what: &'static str,
        offset: usize,
        octets: u8,
    },
    UnexpectedTag {
        what: &'static str,
        offset: usize,
        expected: Tag,
        found: Tag,
    },
    Missing {
        what: &'static str,
        offset: usize,
    },
    InvalidValue {
        what: &'static str,
        offset: usize,
        reason: &'static str,
    },
}

/// One element: its tag, its content (borrowed) and where it starts in the input.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Element<'a> {
    pub tag: Tag,
    pub content: &'a [u8],
    /// Offset of the first identifier octet in the whole input.
    pub offset: usize,
    content_offset: usize,
    input_len: usize,
}

impl<'a> Element<'a> {
    /// A reader over this element's contents (for constructed elements).
    pub fn contents(&self) -> Reader<'a> {
        Reader {
            buf: self.content,
            pos: 0,
            base: self.content_offset,
            input_len: self.input_len,
        }
    }

    fn expect_tag(&self, tag: Tag, what: &'static str) -> Result<(), Error> {
        if self.tag == tag {
            Ok(())
        } else {
            Err(Error::UnexpectedTag {
                what,
                offset: self.offset,
                expected: tag,
                found: self.tag,
            })
        }
    }

    fn invalid(&self, what: &'static str, reason: &'static str) -> Error {
        Error::InvalidValue {
            what,
            offset: self.offset,
            reason,
        }
    }

    /// A DER INTEGER that fits in 64 bits (Kerberos uses Int32 and UInt32).
    pub fn integer(&self, what: &'static str) -> Result<i64, Error> {
        self.expect_tag(Tag::INTEGER, what)?;
        let bytes = self.content;
        let first = *bytes.first().ok_or(self.invalid(what, "empty INTEGER"))?;
        if bytes.len() > 8 {
            return Err(self.invalid(what, "INTEGER longer than 8 octets"));
        }
        // Two's complement: start from all ones for a negative number.
        let init: i64 = if first & 0x80 != 0 { -1 } else { 0 };
        Ok(bytes.iter().fold(init, |acc, &b| (acc << 8) | i64::from(b)))
    }

    pub fn int32(&self, what: &'static str) -> Result<i32, Error> {
        i32::try_from(self.integer(what)?).map_err(|_| self.invalid(what, "outside Int32"))
    }

    pub fn uint32(&self, what: &'static str) -> Result<u32, Error> {
        u32::try_from(self.integer(what)?).map_err(|_| self.invalid(what, "outside UInt32"))
    }

    /// A UInt32 that some implementations encode as a signed 32-bit value (Heimdal sends
    /// nonces above 2^31 as negative INTEGERs): the same 32 bits either way.
    pub fn uint32_lenient(&self, what: &'static str) -> Result<u32, Error> {
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
    pub fn string(&self, what: &'static str) -> Result<Cow<'a, str>, Error> {
        const GENERAL: u32 = 27;
        const UTF8: u32 = 12;
        const PRINTABLE: u32 = 19;
        const IA5: u32 = 22;
        let is_string = self.tag.class == Class::Universal
            && !self.tag.constructed
            && matches!(self.tag.number, GENERAL | UTF8 | PRINTABLE | IA5);
        if !is_string {
            return Err(Error::UnexpectedTag {
                what,
                offset: self.offset,
                expected: Tag::universal(GENERAL, false),
                found: self.tag,
            });
        }
        Ok(String::from_utf8_lossy(self.content))
    }

    pub fn octets(&self, what: &'static str) -> Result<&'a [u8], Error> {
        self.expect_tag(Tag::OCTET_STRING, what)?;
        Ok(self.content)
    }

    /// The first 32 bits of a BIT STRING (KDCOptions, APOptions), bit 0 as the most
    /// significant bit, missing trailing bits as zero.
    pub fn flags32(&self, what: &'static str) -> Result<u32, Error> {
        self.expect_tag(Tag::BIT_STRING, what)?;
        let (unused, bits) = self
            .content
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

    /// GeneralizedTime as RFC 4120 §5.2.3 restricts it (`YYYYMMDDHHMMSSZ`), in whole
    /// seconds since the Unix epoch (UTC).
    pub fn generalized_time(&self, what: &'static str) -> Result<i64, Error> {
        self.expect_tag(Tag::GENERALIZED_TIME, what)?;
        kerberos_time_seconds(self.content).ok_or(self.invalid(what, "not YYYYMMDDHHMMSSZ"))
    }

    pub fn sequence(&self, what: &'static str) -> Result<Reader<'a>, Error> {
        self.expect_tag(Tag::SEQUENCE, what)?;
        Ok(self.contents())
    }
}

/// Seconds since the Unix epoch of a `YYYYMMDDHHMMSSZ` text, or `None` for any other text.
fn kerberos_time_seconds(text: &[u8]) -> Option<i64> {
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
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
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
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf[0]` in the whole input, for error messages.
    base: usize,
    /// Length of the whole input: an element running past it is a truncation, one running
    /// past its parent but not the input is a malformed length.
    input_len: usize,
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Reader<'a> {
        Reader {
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

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Takes `n` raw bytes that are not an element (the GSS token id), or `None` if fewer
    /// remain.
    pub fn take_raw(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.rest().get(..n)?;
        self.pos = self.pos.saturating_add(n);
        Some(bytes)
    }

    /// An element cut short: by the end of the input (a truncated capture) or by the end of
    /// its parent (a malformed encoding).
    fn truncated(&self, what: &'static str) -> Error {
        let offset = self.offset();
        if self.ends_input() {
            Error::Truncated { what, offset }
        } else {
            Error::InvalidValue {
                what,
                offset,
                reason: "element header runs past its parent",
            }
        }
    }

    fn ends_input(&self) -> bool {
        self.base.saturating_add(self.buf.len()) >= self.input_len
    }

    /// The tag of the next element, if there is one and its header parses.
    pub fn peek_tag(&self) -> Option<Tag> {
        read_header(self.rest()).ok().map(|h| h.tag)
    }

    /// Reads the next element, whatever it is.
    pub fn read(&mut self, what: &'static str) -> Result<Element<'a>, Error> {
        let offset = self.offset();
        let (header, content, rest) = split_element(self.rest()).map_err(|fault| match fault {
            ElementFault::Header(HeaderFault::Truncated) => self.truncated(what),
            ElementFault::Header(HeaderFault::TagTooLong) => Error::InvalidValue {
                what,
                offset,
                reason: "tag number too large",
            },
            ElementFault::Header(HeaderFault::Indefinite) => {
                Error::IndefiniteLength { what, offset }
            }
            ElementFault::Header(HeaderFault::LengthTooLong(octets)) => Error::LengthTooLong {
                what,
                offset,
                octets,
            },
            ElementFault::ContentOverrun { .. } if self.ends_input() => self.truncated(what),
            ElementFault::ContentOverrun { len, available, .. } => Error::LengthOverrun {
                what,
                offset,
                len,
                available,
            },
        })?;
        self.pos = self.buf.len().saturating_sub(rest.len());
        Ok(Element {
            tag: header.tag,
            content,
            offset,
            content_offset: offset.saturating_add(header.header_len),
            input_len: self.input_len,
        })
    }

    /// Reads the next element and checks its tag.
    pub fn expect(&mut self, tag: Tag, what: &'static str) -> Result<Element<'a>, Error> {
        if self.is_empty() {
            return Err(Error::Missing {
                what,
                offset: self.offset(),
            });
        }
        let element = self.read(what)?;
        element.expect_tag(tag, what)?;
        Ok(element)
    }

    /// A required `[n] EXPLICIT` field: returns the single element inside the tag.
    pub fn field(&mut self, n: u32, what: &'static str) -> Result<Element<'a>, Error> {
        let wrapper = self.expect(Tag::context(n), what)?;
        wrapper.contents().read(what)
    }

    /// An OPTIONAL `[n] EXPLICIT` field; absent when the next tag is anything else.
    pub fn opt_field(&mut self, n: u32, what: &'static str) -> Result<Option<Element<'a>>, Error> {
        if self.peek_tag() == Some(Tag::context(n)) {
            self.field(n, what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Each element of a SEQUENCE OF, parsed by `item`.
    pub fn each<T, E: From<Error>>(
        mut self,
        what: &'static str,
        mut item: impl FnMut(Element<'a>) -> Result<T, E>,
    ) -> Result<Vec<T>, E> {
        let mut out = Vec::new();
        while !self.is_empty() {
            out.push(item(self.read(what)?)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
