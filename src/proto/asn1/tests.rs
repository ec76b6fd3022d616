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
        let element = Reader::new(bytes).read("int").unwrap();
        assert_eq!(element.integer("int").unwrap(), want, "{bytes:02x?}");
    }
    let empty = Reader::new(&[0x02, 0x00]).read("int").unwrap();
    assert!(empty.integer("int").is_err());
    let long = [0x02, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    assert!(Reader::new(&long)
        .read("int")
        .unwrap()
        .integer("int")
        .is_err());
}

#[test]
fn rejects_indefinite_and_oversized_lengths() {
    assert!(matches!(
        Reader::new(&[0x30, 0x80, 0, 0]).read("x"),
        Err(Error::IndefiniteLength { offset: 0, .. })
    ));
    // der-parser refuses the indefinite form of a primitive element itself; still the same.
    assert!(matches!(
        Reader::new(&[0x04, 0x80, 0, 0]).read("x"),
        Err(Error::IndefiniteLength { offset: 0, .. })
    ));
    assert!(matches!(
        Reader::new(&[0x30, 0x85, 1, 0, 0, 0, 0]).read("x"),
        Err(Error::LengthTooLong { octets: 5, .. })
    ));
    // Too long even before the length octets that would follow.
    assert!(matches!(
        Reader::new(&[0x30, 0xff]).read("x"),
        Err(Error::LengthTooLong { octets: 127, .. })
    ));
    // Four length octets claiming 4 GiB on 64-bit, or wrapping nothing on 32-bit.
    assert!(matches!(
        Reader::new(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0]).read("x"),
        Err(Error::Truncated { .. })
    ));
    // Non-minimal length octets are accepted.
    let padded = [0x04, 0x82, 0x00, 0x01, 0xaa];
    assert_eq!(Reader::new(&padded).read("x").unwrap().content, &[0xaa]);
}

#[test]
fn overrun_inside_parent_is_not_truncation() {
    // SEQUENCE of 3 bytes whose inner INTEGER claims 5, followed by more input.
    let bytes = [0x30, 0x03, 0x02, 0x05, 0x01, 0xaa, 0xbb, 0xcc, 0xdd];
    let mut outer = Reader::new(&bytes);
    let mut inner = outer.read("seq").unwrap().contents();
    assert!(matches!(
        inner.read("int"),
        Err(Error::LengthOverrun {
            offset: 2,
            len: 5,
            available: 1,
            ..
        })
    ));
    // Cut input: the same claim at the end of the input is a truncation.
    let cut = [0x30, 0x05, 0x02, 0x03, 0x01];
    assert!(matches!(
        Reader::new(&cut).read("seq"),
        Err(Error::Truncated { offset: 0, .. })
    ));
}

#[test]
fn empty_explicit_tag_is_malformed_not_truncated() {
    // SEQUENCE { [0] (empty) } followed by more input.
    let bytes = [0x30, 0x02, 0xa0, 0x00, 0x05, 0x00];
    let mut seq = Reader::new(&bytes).read("seq").unwrap().contents();
    assert!(matches!(
        seq.field(0, "pvno"),
        Err(Error::InvalidValue { offset: 4, .. })
    ));
}

#[test]
fn high_tag_numbers_are_bounded() {
    let ok = [0x7f, 0x81, 0x00, 0x00];
    assert_eq!(
        Reader::new(&ok).read("x").unwrap().tag,
        Tag::application(128)
    );
    let too_long = [0x7f, 0x81, 0x81, 0x81, 0x01, 0x00];
    assert!(matches!(
        Reader::new(&too_long).read("x"),
        Err(Error::InvalidValue {
            reason: "tag number too large",
            ..
        })
    ));
    // Too long is reported before the missing length octets; a cut tag is a truncation.
    assert_eq!(
        read_header(&[0x7f, 0x81, 0x81, 0x81, 0x81]),
        Err(HeaderFault::TagTooLong)
    );
    assert_eq!(
        read_header(&[0x7f, 0x81, 0x81, 0x81]),
        Err(HeaderFault::Truncated)
    );
}

#[test]
fn kerberos_time_matches_unix_epoch() {
    assert_eq!(kerberos_time_seconds(b"19700101000000Z"), Some(0));
    // `date -u -d 2026-11-27T04:06:55 +%s`
    assert_eq!(
        kerberos_time_seconds(b"20261127040655Z"),
        Some(1_795_752_415)
    );
    assert_eq!(kerberos_time_seconds(b"20261327040655Z"), None);
    assert_eq!(kerberos_time_seconds(b"2026112704065Z"), None);
    assert_eq!(kerberos_time_seconds(b"20261127040655"), None);
}

#[test]
fn bit_strings_fill_from_the_top() {
    let element = Reader::new(&[0x03, 0x05, 0x00, 0x40, 0x81, 0x00, 0x10])
        .read("flags")
        .unwrap();
    assert_eq!(element.flags32("flags").unwrap(), 0x4081_0010);
    let short = Reader::new(&[0x03, 0x02, 0x00, 0x20])
        .read("flags")
        .unwrap();
    assert_eq!(short.flags32("flags").unwrap(), 0x2000_0000);
}

proptest::proptest! {
    #[test]
    fn headers_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..16)) {
        let _ = read_header(&data);
        let _ = split_element(&data);
        let mut reader = Reader::new(&data);
        while !reader.is_empty() && reader.read("x").is_ok() {}
    }
}
