use super::*;

fn h1_events(chunks: &[&[u8]]) -> Vec<Event> {
    let mut tracker = H1Tracker::default();
    let mut events = Vec::new();
    for chunk in chunks {
        tracker.feed(chunk, &mut |e| events.push(e));
    }
    events
}

const OK: Event = Event::HeadComplete { conflicting_framing: false };
const CONFLICT: Event = Event::HeadComplete { conflicting_framing: true };

#[test]
fn flags_content_length_with_transfer_encoding_in_either_order() {
    let te_first = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n";
    let cl_first = b"POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n";
    assert_eq!(h1_events(&[te_first]), [Event::HeadStarted, CONFLICT]);
    assert_eq!(h1_events(&[cl_first]), [Event::HeadStarted, CONFLICT]);
    let bad_length = b"POST / HTTP/1.1\r\nContent-Length: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    assert_eq!(h1_events(&[bad_length]), [Event::HeadStarted, CONFLICT]);
}

#[test]
fn follows_bodies_to_find_a_smuggled_second_head() {
    let first = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
    let second = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut both = first.to_vec();
    both.extend_from_slice(second);
    assert_eq!(h1_events(&[&both]), [Event::HeadStarted, OK, Event::HeadStarted, CONFLICT]);
    // The same bytes one at a time.
    let singles: Vec<&[u8]> = both.chunks(1).collect();
    assert_eq!(h1_events(&singles), [Event::HeadStarted, OK, Event::HeadStarted, CONFLICT]);
}

#[test]
fn follows_chunked_bodies_and_trailers() {
    let msg = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(h1_events(&[msg]), [Event::HeadStarted, OK, Event::HeadStarted, OK]);
    let singles: Vec<&[u8]> = msg.chunks(1).collect();
    assert_eq!(h1_events(&singles), [Event::HeadStarted, OK, Event::HeadStarted, OK]);
}

#[test]
fn reports_a_head_it_cannot_follow() {
    assert_eq!(h1_events(&[b"\x16\x03\x01garbage\r\n\r\n"]), [Event::HeadStarted, Event::Lost]);
    let huge = vec![b'a'; MAX_HEAD_BYTES + 10];
    assert_eq!(h1_events(&[b"GET / HTTP/1.1\r\nX: ", &huge]), [Event::HeadStarted, Event::Lost]);
    let bad_chunk = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    assert_eq!(h1_events(&[bad_chunk]), [Event::HeadStarted, OK, Event::Lost]);
}

#[test]
fn a_partial_head_is_only_started() {
    assert_eq!(h1_events(&[b"G"]), [Event::HeadStarted]);
    assert_eq!(h1_events(&[b"GET / HTTP/1.1\r\nHost: a\r\n"]), [Event::HeadStarted]);
}

/// Found by the `proxy_header` fuzz target: empty lines before a request line
/// are skipped (RFC 9112 §2.2), never taken as the end of a head, so the
/// verdict does not depend on how the bytes are split.
#[test]
fn leading_empty_lines_are_not_the_end_of_a_head() {
    let data: &[u8] = b"\n\n\n~~~~~~~~~~\r";
    assert_eq!(h1_events(&[data]), [Event::HeadStarted]);
    assert_eq!(h1_events(&[&data[..10], &data[10..]]), [Event::HeadStarted]);
}

fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags, 0, 0, 0, 1];
    f.extend_from_slice(payload);
    f
}

#[test]
fn finds_http2_header_blocks_across_continuations() {
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bytes.extend(frame(0x4, 0, &[0; 6])); // SETTINGS
    bytes.extend(frame(0x1, 0, &[1, 2, 3])); // HEADERS without END_HEADERS
    bytes.extend(frame(0x9, 0x4, &[4])); // CONTINUATION, END_HEADERS
    bytes.extend(frame(0x6, 0, &[0; 8])); // PING
    bytes.extend(frame(0x1, 0x5, &[])); // HEADERS, END_STREAM | END_HEADERS
    for chunk in [bytes.len(), 1, 7] {
        let mut tracker = H2Tracker::default();
        let mut events = Vec::new();
        for c in bytes.chunks(chunk) {
            tracker.feed(c, &mut |e| events.push(e));
        }
        assert_eq!(events, [Event::HeadStarted, OK, Event::HeadStarted, OK], "chunks of {chunk}");
    }
}

#[test]
fn pings_alone_start_no_http2_head() {
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    for _ in 0..5 {
        bytes.extend(frame(0x6, 0x1, &[0; 8]));
    }
    let mut tracker = H2Tracker::default();
    let mut events = Vec::new();
    tracker.feed(&bytes, &mut |e| events.push(e));
    assert!(events.is_empty());
}
