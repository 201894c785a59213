//! The PROXY protocol v2 header parser (through `ppp`) and the raw-head
//! trackers of `slipgate-transport`: arbitrary bytes never panic; a header
//! that parses names a client only for PROXY over TCP; the HTTP/1.1 tracker
//! gives the same events however the bytes are split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipgate_transport::head::{Event, H1Tracker, H2Tracker};
use slipgate_transport::proxy::{ProxySource, SIGNATURE, parse_v2};

fuzz_target!(|data: &[u8]| {
    if let Ok(ProxySource::Client(addr)) = parse_v2(data) {
        assert!(data.starts_with(&SIGNATURE));
        let _ = addr;
    }
    let split = data.first().map_or(1, |b| usize::from(*b).max(1));
    let mut whole = Vec::new();
    H1Tracker::default().feed(data, &mut |e: Event| whole.push(e));
    let mut pieces = Vec::new();
    let mut tracker = H1Tracker::default();
    for chunk in data.chunks(split) {
        tracker.feed(chunk, &mut |e: Event| pieces.push(e));
    }
    assert_eq!(whole, pieces);
    let mut h2 = H2Tracker::default();
    for chunk in data.chunks(split) {
        h2.feed(chunk, &mut |_| {});
    }
});
