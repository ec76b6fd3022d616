use super::*;
use crate::proto::ntstatus::NtStatus;
use crate::testkit::smb::{self as build, Header};
use crate::testkit::{dns_tcp_frame, filler, krb_tcp_frame, nbss_frame};

/// What a framer handed on: (record bytes, cut).
type Out = Vec<(Vec<u8>, bool)>;

/// How a stream reaches the framer.
enum Piece<'a> {
    Data(&'a [u8]),
    Gap(u64),
}

fn run<F: RecordFormat>(format: F, synced: bool, pieces: &[Piece<'_>]) -> Out {
    let mut f = Framer::new(format, synced);
    let mut out = Vec::new();
    let mut push = |r: Frame<'_>| {
        assert_eq!(r.body, &r.record[F::HEADER_LEN..]);
        out.push((r.record.to_vec(), r.cut));
    };
    for p in pieces {
        match p {
            Piece::Data(d) => f.data(d, &mut push),
            Piece::Gap(n) => f.gap(*n, &mut push),
        }
    }
    f.finish(&mut push);
    out
}

fn whole<F: RecordFormat>(format: F, bytes: &[u8]) -> Out {
    run(format, true, &[Piece::Data(bytes)])
}

fn byte_by_byte<F: RecordFormat>(format: F, bytes: &[u8]) -> Out {
    let pieces: Vec<Piece<'_>> = bytes.chunks(1).map(Piece::Data).collect();
    run(format, true, &pieces)
}

fn complete(records: &[Vec<u8>]) -> Out {
    records.iter().map(|r| (r.clone(), false)).collect()
}

/// A setup message, a 64 KiB READ response and a WRITE request, NBSS-framed.
fn smb_stream() -> Vec<u8> {
    let tree = Header::request(Smb2Command::TREE_CONNECT, 3);
    let read = Header::request(Smb2Command::READ, 4);
    let write = Header::request(Smb2Command::WRITE, 5);
    [
        nbss_frame(&build::message(
            &tree,
            &build::tree_connect_request(r"\\nas1\data"),
        )),
        nbss_frame(&build::message(
            &Header::response_to(&read, NtStatus::STATUS_SUCCESS),
            &build::read_response(&filler(1, 65_536)),
        )),
        nbss_frame(&build::message(
            &write,
            &build::write_request([1; 16], 0, &filler(2, 3000)),
        )),
    ]
    .concat()
}

fn nbss_len(record: &[u8]) -> usize {
    nbss::HEADER_LEN + u32::from_be_bytes([0, record[1], record[2], record[3]]) as usize
}

/// A KDC message's first bytes after the marker: an application tag (AS-REQ) and filler.
fn krb_message(len: usize) -> Vec<u8> {
    let mut m = filler(len as u32, len);
    m[0] = 0x6a;
    m
}

#[test]
fn a_header_split_across_pieces_frames_like_a_whole_one() {
    let rec = nbss_frame(&[0xfe, b'S', b'M', b'B', 1, 2, 3]);
    for cut in 1..nbss::HEADER_LEN {
        let out = run(
            Nbss,
            true,
            &[Piece::Data(&rec[..cut]), Piece::Data(&rec[cut..])],
        );
        assert_eq!(out, complete(std::slice::from_ref(&rec)), "cut at {cut}");
    }
    let krb = krb_tcp_frame(&krb_message(40));
    for cut in 1..kerberos::RECORD_MARKER_LEN {
        let out = run(
            KrbRecordMarker,
            true,
            &[Piece::Data(&krb[..cut]), Piece::Data(&krb[cut..])],
        );
        assert_eq!(out, complete(std::slice::from_ref(&krb)), "cut at {cut}");
    }
    let d = dns_tcp_frame(b"\x12\x34answer");
    let out = run(
        DnsOverTcp,
        true,
        &[Piece::Data(&d[..1]), Piece::Data(&d[1..])],
    );
    assert_eq!(out, complete(std::slice::from_ref(&d)));
}

#[test]
fn records_across_many_segments_frame_like_one_piece() {
    let krb: Vec<Vec<u8>> = [30, 1, 700].map(|n| krb_tcp_frame(&krb_message(n))).into();
    let krb_stream = krb.concat();
    assert_eq!(whole(KrbRecordMarker, &krb_stream), complete(&krb));
    assert_eq!(byte_by_byte(KrbRecordMarker, &krb_stream), complete(&krb));

    let dns: Vec<Vec<u8>> = [&b""[..], b"a", &filler(3, 600)].map(dns_tcp_frame).into();
    let dns_stream = dns.concat();
    assert_eq!(whole(DnsOverTcp, &dns_stream), complete(&dns));
    assert_eq!(byte_by_byte(DnsOverTcp, &dns_stream), complete(&dns));

    let smb = smb_stream();
    assert_eq!(byte_by_byte(Nbss, &smb), whole(Nbss, &smb));
}

#[test]
fn bulk_records_keep_only_their_prefix_and_setup_records_stay_whole() {
    let s = smb_stream();
    let records = whole(Nbss, &s);
    let lens: Vec<usize> = records.iter().map(|r| r.0.len()).collect();
    let keep = nbss::HEADER_LEN + BULK_KEEP;
    assert_eq!(lens, vec![nbss_len(&s), keep, keep]);
    assert!(records.iter().all(|r| !r.1));
    assert_eq!(records[1].0[..4], s[nbss_len(&s)..][..4]);
}

#[test]
fn a_gap_inside_skipped_bulk_data_costs_nothing() {
    let s = smb_stream();
    let read_start = nbss_len(&s);
    let out = run(
        Nbss,
        true,
        &[
            Piece::Data(&s[..read_start + 2000]),
            Piece::Gap(1000),
            Piece::Data(&s[read_start + 3000..]),
        ],
    );
    assert_eq!(out, whole(Nbss, &s));
}

#[test]
fn a_gap_inside_a_kept_record_yields_it_cut_then_resyncs() {
    let first = nbss_frame(&build::message(
        &Header::request(Smb2Command::NEGOTIATE, 0),
        &filler(4, 100),
    ));
    let second = nbss_frame(&build::message(
        &Header::request(Smb2Command::SESSION_SETUP, 1),
        &filler(5, 100),
    ));
    let third = nbss_frame(&build::message(
        &Header::request(Smb2Command::TREE_CONNECT, 2),
        &filler(6, 10),
    ));
    // The rest of `second` after the gap, then garbage, then `third`.
    let after = [&second[80..], &[0x55; 9][..], &third].concat();
    let out = run(
        Nbss,
        true,
        &[
            Piece::Data(&first),
            Piece::Data(&second[..50]),
            Piece::Gap(30),
            Piece::Data(&after),
        ],
    );
    assert_eq!(
        out,
        vec![
            (first.clone(), false),
            (second[..50].to_vec(), true),
            (third.clone(), false),
        ]
    );

    // Kerberos: the same, with a marker as the resync point.
    let a = krb_tcp_frame(&krb_message(60));
    let b = krb_tcp_frame(&krb_message(20));
    let out = run(
        KrbRecordMarker,
        true,
        &[
            Piece::Data(&a[..30]),
            Piece::Gap(10),
            Piece::Data(&[&a[40..], &[0xff, 0, 0][..], &b].concat()),
        ],
    );
    assert_eq!(out, vec![(a[..30].to_vec(), true), (b.clone(), false)]);
}

#[test]
fn a_stream_joined_midway_is_framed_from_the_first_plausible_record() {
    let s = smb_stream();
    let tail = [&[0x00, 0x00, 0x10][..], &s].concat();
    // Fed in pieces that split the first plausible header.
    let out = run(
        Nbss,
        false,
        &[Piece::Data(&tail[..5]), Piece::Data(&tail[5..])],
    );
    assert_eq!(out, whole(Nbss, &s));
    assert!(Nbss.starts_within(&tail, 64));
    assert!(!Nbss.starts_within(&[0u8; 100], 64));
}

#[test]
fn a_record_cut_by_the_end_of_the_stream_is_yielded_cut() {
    let rec = krb_tcp_frame(&krb_message(50));
    let out = run(KrbRecordMarker, true, &[Piece::Data(&rec[..20])]);
    assert_eq!(out, vec![(rec[..20].to_vec(), true)]);
    // A header alone is not a record.
    let out = run(KrbRecordMarker, true, &[Piece::Data(&rec[..4])]);
    assert_eq!(out, Vec::new());
    // A held bulk prefix whose data never ends is yielded as kept.
    let s = smb_stream();
    let read_start = nbss_len(&s);
    let out = run(Nbss, true, &[Piece::Data(&s[..read_start + 1000])]);
    assert_eq!(out[1], (s[read_start..][..4 + BULK_KEEP].to_vec(), false));
}

#[test]
fn oversize_and_reserved_lengths_are_never_buffered() {
    let good = krb_tcp_frame(&krb_message(20));
    let too_long = (kerberos::MAX_RECORD_LEN as u32 + 1).to_be_bytes();
    let reserved = [0x80, 0, 0, 20];
    for bad in [too_long, reserved] {
        assert_eq!(step(&KrbRecordMarker, &bad), Step::Resync);
        let stream = [&bad[..], &[0xff; 3], &good].concat();
        let mut f = Framer::new(KrbRecordMarker, true);
        let mut out = Vec::new();
        f.data(&stream, &mut |r| out.push(r.record.to_vec()));
        assert_eq!(out, vec![good.clone()]);
        assert!(f.is_idle());
    }
    // A long NBSS record is buffered only up to its kept prefix.
    let header = [0x00, 0xff, 0xff, 0xff];
    let record = [&header[..], b"\xfeSMB", &[0u8; 60]].concat();
    assert_eq!(step(&Nbss, &record), Step::Need(4 + KEEP_PREFIX));
    assert_eq!(step(&Nbss, &[0x42, 0, 0, 4]), Step::Resync);
    assert_eq!(step(&Nbss, &[0x00, 0, 0x10]), Step::Need(4));
    assert_eq!(step(&Nbss, &header), Step::Need(4 + smb2::HEADER_LEN));
}

proptest::proptest! {
    /// However the stream is cut into segments, the same records come out.
    #[test]
    fn any_segmentation_frames_the_same_records(
        cuts in proptest::collection::vec(1usize..70_000, 0..12),
    ) {
        let s = smb_stream();
        let all = whole(Nbss, &s);
        let mut points: Vec<usize> = cuts.into_iter().map(|c| c % s.len()).collect();
        points.sort_unstable();
        points.dedup();
        let mut pieces = Vec::new();
        let mut at = 0;
        for p in points {
            pieces.push(Piece::Data(&s[at..p]));
            at = p;
        }
        pieces.push(Piece::Data(&s[at..]));
        proptest::prop_assert_eq!(run(Nbss, true, &pieces), all);
    }

    /// No bytes, gaps or state make a framer panic.
    #[test]
    fn any_bytes_and_gaps_never_panic(
        chunks in proptest::collection::vec(
            (proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80), 0u64..40),
            0..8,
        ),
        synced in proptest::prelude::any::<bool>(),
    ) {
        let pieces: Vec<Piece<'_>> = chunks
            .iter()
            .flat_map(|(d, g)| [Piece::Data(d), Piece::Gap(*g)])
            .collect();
        run(Nbss, synced, &pieces);
        run(KrbRecordMarker, synced, &pieces);
        run(DnsOverTcp, synced, &pieces);
    }
}
