//! TCP connect: refused and unanswered SYNs.

use super::*;

/// `tcp-connect-refused`: SYN to nas1:445 (frame 1) answered by RST+ACK (frame 2); Windows
/// retries twice, 0.5 s apart, with the same result (frames 3-6).
///
/// Expected: `tcp-connect-failed` (error), syn 1, reset 2 (port closed or service down).
pub(super) fn tcp_connect_refused() -> Scenario {
    let mut c = smb_conn(CLIENT_V4, 49_750, NAS1_V4, START);
    let isn = c.tcp.next_seq(Dir::ToServer);
    let syn = c.tcp.syn();
    c.flow.add(role("syn"), vec![syn]);
    c.tcp.advance(us(290));
    let rst = c.tcp.rst_from_server();
    c.flow.add(role("reset"), vec![rst]);
    for _ in 0..2 {
        c.tcp.advance(ms(500));
        let syn = c
            .tcp
            .segment(Dir::ToServer, isn, crate::testkit::TcpFlags::SYN, &[]);
        c.flow.add(None, vec![syn]);
        c.tcp.advance(us(280));
        let rst = c.tcp.rst_from_server();
        c.flow.add(None, vec![rst]);
    }
    finish("tcp-connect-refused", Link::default(), vec![c.flow])
}

/// `tcp-connect-unanswered`: SYN (frame 1), retransmitted after 1 s (frame 2) and 3 s
/// (frame 3); nothing comes back (a firewall drops it).
///
/// Expected: `tcp-connect-failed` (error), syn 1, never answered.
pub(super) fn tcp_connect_unanswered() -> Scenario {
    let mut c = smb_conn(CLIENT_V4, 49_751, NAS1_V4, START);
    let isn = c.tcp.next_seq(Dir::ToServer);
    let syn = c.tcp.syn();
    c.flow.add(role("syn"), vec![syn]);
    for wait in [1, 2] {
        c.tcp.advance(Duration::from_secs(wait));
        let again = c
            .tcp
            .segment(Dir::ToServer, isn, crate::testkit::TcpFlags::SYN, &[]);
        c.flow.add(None, vec![again]);
    }
    finish("tcp-connect-unanswered", Link::default(), vec![c.flow])
}
