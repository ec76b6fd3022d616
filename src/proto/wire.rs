//! What the nom 8 record parsers share: running a parser for one field, locating it in the
//! message, and the one shape a failed field takes before each layer makes it its own error.
//!
//! Contract: takes byte slices, borrows from them; only [`utf16le_lossy`] allocates (the
//! `String` it returns). nom's error types stay inside `proto/`: a failed field becomes a
//! [`Short`], located in the whole message, which each layer's error enum converts from.

use nom::bytes::complete::take;
use nom::combinator::iterator;
use nom::error::Error as NomError;
use nom::number::complete::le_u16;
use nom::sequence::preceded;
use nom::{IResult, Parser};

/// nom's error on byte-slice input, as the parsers of `proto/` use it.
pub(crate) type NomErr<'a> = nom::Err<NomError<&'a [u8]>>;

/// A field the message ends inside (or that points outside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Short {
    /// Which field.
    pub what: &'static str,
    /// Where it starts, from the start of the message.
    pub offset: usize,
    /// How many bytes it needs.
    pub needed: usize,
    /// How many the message has from `offset` on.
    pub available: usize,
}

impl Short {
    /// `needed` bytes of `what` at `offset` in `msg`; `offset` may lie past its end.
    pub(crate) fn at(msg: &[u8], offset: usize, needed: usize, what: &'static str) -> Short {
        Short {
            what,
            offset,
            needed,
            available: msg.len().saturating_sub(offset),
        }
    }
}

/// Offset of `rest`, a suffix of `msg`, from the start of `msg`.
pub(crate) fn offset_of(msg: &[u8], rest: &[u8]) -> usize {
    msg.len().saturating_sub(rest.len())
}

/// Runs `parser` on `rest`, a suffix of `msg`, for the field `what` of `needed` bytes; if it
/// fails, the field is [`Short`] at the offset of `rest`.
pub(crate) fn field<'a, O>(
    msg: &[u8],
    rest: &'a [u8],
    what: &'static str,
    needed: usize,
    mut parser: impl Parser<&'a [u8], Output = O, Error = NomError<&'a [u8]>>,
) -> Result<(&'a [u8], O), Short> {
    parser
        .parse(rest)
        .map_err(|_| Short::at(msg, offset_of(msg, rest), needed, what))
}

/// The `len` bytes at `offset` in `msg`: a buffer that a header addresses by (offset,
/// length), never trusted; [`Short`] when any of it lies past the end of `msg`.
pub(crate) fn bytes_at<'a>(
    msg: &'a [u8],
    offset: usize,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], Short> {
    preceded(take(offset), take(len))
        .parse(msg)
        .map(|(_, bytes)| bytes)
        .map_err(|_: NomErr<'_>| Short::at(msg, offset, len, what))
}

/// A fixed-size structure: runs `layout` over the `len` bytes at `offset` in `msg` and
/// answers what follows the structure in `msg` and what `layout` made of it. The structure is
/// [`Short`] as a whole when the message ends inside it (or `layout` needs more than `len`).
pub(crate) fn record<'a, O>(
    msg: &'a [u8],
    offset: usize,
    len: usize,
    what: &'static str,
    mut layout: impl Parser<&'a [u8], Output = O, Error = NomError<&'a [u8]>>,
) -> Result<(&'a [u8], O), Short> {
    let short = |_: NomErr<'_>| Short::at(msg, offset, len, what);
    let (after, bytes) = preceded(take(offset), take(len))
        .parse(msg)
        .map_err(short)?;
    let (_, value) = layout.parse(bytes).map_err(short)?;
    Ok((after, value))
}

/// `N` bytes as an array (GUIDs, signatures, challenges).
pub(crate) fn array<const N: usize>(input: &[u8]) -> IResult<&[u8], [u8; N]> {
    take(N).map_opt(|b: &[u8]| b.try_into().ok()).parse(input)
}

/// What `parser` reads from the start of `bytes`, or `None` when they are too short for it.
pub(crate) fn leading<'a, O>(
    bytes: &'a [u8],
    mut parser: impl Parser<&'a [u8], Output = O, Error = NomError<&'a [u8]>>,
) -> Option<O> {
    parser.parse(bytes).ok().map(|(_, value)| value)
}

/// UTF-16LE text, unpaired surrogates replaced; a trailing odd byte is ignored.
pub(crate) fn utf16le_lossy(bytes: &[u8]) -> String {
    char::decode_utf16(iterator(bytes, le_u16::<_, NomError<&[u8]>>))
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nom::number::complete::le_u32;

    #[test]
    fn utf16_is_lossy_and_ignores_an_odd_byte() {
        assert_eq!(utf16le_lossy(b"N\x00A\x00S\x001\x00"), "NAS1");
        assert_eq!(utf16le_lossy(b"N\x00A"), "N");
        assert_eq!(utf16le_lossy(&[0x00, 0xd8, b'x', 0]), "\u{fffd}x");
        assert_eq!(utf16le_lossy(&[]), "");
    }

    #[test]
    fn short_fields_are_located_in_the_message() {
        let msg = [1u8, 2, 3, 4, 5, 6];
        let rest = &msg[4..];
        assert_eq!(
            field(&msg, rest, "x", 4, le_u32),
            Err(Short {
                what: "x",
                offset: 4,
                needed: 4,
                available: 2
            })
        );
        assert_eq!(
            field(&msg, &msg[2..], "x", 4, le_u32),
            Ok((&[][..], 0x0605_0403))
        );
        assert_eq!(Short::at(&msg, 9, 1, "y").available, 0);
        assert_eq!(leading(&msg, le_u32), Some(0x0403_0201));
        assert_eq!(leading(&msg[3..], le_u32), None);
    }

    #[test]
    fn buffers_and_records_are_located_in_the_message() {
        let msg = [1u8, 2, 3, 4, 5, 6];
        assert_eq!(bytes_at(&msg, 2, 3, "b"), Ok(&msg[2..5]));
        assert_eq!(bytes_at(&msg, 6, 0, "b"), Ok(&[][..]));
        assert_eq!(bytes_at(&msg, 4, 3, "b"), Err(Short::at(&msg, 4, 3, "b")));
        assert_eq!(bytes_at(&msg, 9, 1, "b"), Err(Short::at(&msg, 9, 1, "b")));
        assert_eq!(
            record(&msg, 1, 4, "r", (le_u16, le_u16)),
            Ok((&msg[5..], (0x0302, 0x0504)))
        );
        assert_eq!(
            record(&msg, 1, 2, "r", le_u32),
            Err(Short::at(&msg, 1, 2, "r"))
        );
        assert_eq!(
            record(&msg, 3, 4, "r", le_u16),
            Err(Short::at(&msg, 3, 4, "r"))
        );
        assert_eq!(leading(&msg, array::<4>), Some([1, 2, 3, 4]));
        assert_eq!(leading(&msg, array::<7>), None);
    }
}
