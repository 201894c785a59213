//! Where request heads begin and end in the raw bytes of a connection, so the
//! transport can bound the time a head takes (`limits.header_timeout`) and
//! see an HTTP/1.1 head as it was sent (SPEC §3.2: `Content-Length` together
//! with `Transfer-Encoding` → 400; hyper drops one of the two before the
//! service sees the headers).
//!
//! Both trackers are pure: bytes in, events out. The HTTP/1.1 one follows the
//! message framing (`Content-Length`, chunked) with `httparse`, the parser
//! hyper itself uses, to find the next head on a keep-alive connection. When
//! it cannot follow (a head it cannot parse, an oversized head or chunk line)
//! it reports [`Event::Lost`] and the connection is treated as suspect (every
//! later request on it is refused): failing closed, since a smuggled head is
//! exactly what it would otherwise miss.

/// Largest request head followed (hyper refuses larger ones too).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Header lines parsed per head (hyper's own limit is 100).
const MAX_HEADERS: usize = 128;
/// Longest chunk-size or trailer line followed.
const MAX_LINE: usize = 4096;

/// What the bytes fed so far showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The first byte of a request head (HTTP/1.1) or header block (HTTP/2).
    HeadStarted,
    /// A head is complete; `conflicting_framing` when it carries both
    /// `Content-Length` and `Transfer-Encoding` (HTTP/1.1 only).
    HeadComplete {
        /// Both framing headers present.
        conflicting_framing: bool,
    },
    /// The tracker cannot follow the stream any more.
    Lost,
}

#[derive(Debug)]
enum H1State {
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Trailers,
    /// Nothing more to follow (lost, or the connection closes after this message).
    Done,
}

/// Follows HTTP/1.1 request framing.
#[derive(Debug)]
pub struct H1Tracker {
    state: H1State,
    buf: Vec<u8>,
}

impl Default for H1Tracker {
    fn default() -> Self {
        Self { state: H1State::Head, buf: Vec::new() }
    }
}

impl H1Tracker {
    /// Feeds bytes read from the client; `emit` receives the events in order.
    pub fn feed(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(Event)) {
        while !bytes.is_empty() {
            bytes = match self.state {
                H1State::Done => return,
                H1State::Head => self.head(bytes, emit),
                H1State::Body(left) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
                    let left = left - n as u64;
                    self.state = if left == 0 { H1State::Head } else { H1State::Body(left) };
                    &bytes[n..]
                }
                H1State::ChunkData(left) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
                    let left = left - n as u64;
                    self.state = if left == 0 { H1State::ChunkEnd } else { H1State::ChunkData(left) };
                    &bytes[n..]
                }
                H1State::ChunkSize | H1State::ChunkEnd | H1State::Trailers => self.line(bytes, emit),
            };
        }
    }

    fn lost(&mut self, emit: &mut impl FnMut(Event)) {
        self.state = H1State::Done;
        self.buf = Vec::new();
        emit(Event::Lost);
    }

    fn head<'a>(&mut self, bytes: &'a [u8], emit: &mut impl FnMut(Event)) -> &'a [u8] {
        if self.buf.is_empty() {
            emit(Event::HeadStarted);
        }
        let before = self.buf.len();
        let room = (MAX_HEAD_BYTES + 1).saturating_sub(before);
        let take = room.min(bytes.len());
        self.buf.extend_from_slice(&bytes[..take]);
        // A head ends with an empty line: only then is parsing worth it. Empty
        // lines before the request line are skipped, as httparse and hyper skip
        // them (RFC 9112 §2.2), so they never count as the end (found by the
        // `proxy_header` fuzz target: a split feed parsed such a prefix early).
        let start = self.buf.iter().position(|b| *b != b'\r' && *b != b'\n').unwrap_or(self.buf.len());
        let from = before.saturating_sub(3).max(start);
        let ended = self.buf[from..].windows(2).any(|w| w == b"\n\n")
            || self.buf[from..].windows(3).any(|w| w == b"\n\r\n");
        if !ended {
            if self.buf.len() > MAX_HEAD_BYTES {
                self.lost(emit);
            }
            return &bytes[take..];
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        let len = match request.parse(&self.buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if self.buf.len() <= MAX_HEAD_BYTES => return &bytes[take..],
            _ => {
                self.lost(emit);
                return &[];
            }
        };
        let mut content_length: Option<u64> = None;
        let mut bad_length = false;
        let mut transfer_encoding = false;
        let mut chunked = false;
        for header in request.headers.iter() {
            if header.name.eq_ignore_ascii_case("content-length") {
                let value = std::str::from_utf8(header.value).ok().map(str::trim);
                match value.and_then(|v| v.parse::<u64>().ok()) {
                    Some(n) if content_length.is_none_or(|c| c == n) => content_length = Some(n),
                    _ => bad_length = true,
                }
            } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
                transfer_encoding = true;
                // The last coding decides, as in hyper (RFC 9112 §6.3).
                chunked = header
                    .value
                    .rsplit(|b| *b == b',')
                    .next()
                    .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            }
        }
        let conflicting = transfer_encoding && (content_length.is_some() || bad_length);
        // Bytes of this feed that lie past the head.
        let past = take - (self.buf.len() - len).min(take);
        self.buf = Vec::new();
        emit(Event::HeadComplete { conflicting_framing: conflicting });
        self.state = if conflicting {
            // Refused, and hyper closes such a connection after its answer.
            H1State::Done
        } else if transfer_encoding {
            if chunked { H1State::ChunkSize } else { H1State::Done }
        } else if bad_length {
            H1State::Done
        } else {
            match content_length {
                Some(0) | None => H1State::Head,
                Some(n) => H1State::Body(n),
            }
        };
        &bytes[past..]
    }

    fn line<'a>(&mut self, bytes: &'a [u8], emit: &mut impl FnMut(Event)) -> &'a [u8] {
        let Some(end) = bytes.iter().position(|b| *b == b'\n') else {
            self.buf.extend_from_slice(bytes);
            if self.buf.len() > MAX_LINE {
                self.lost(emit);
            }
            return &[];
        };
        self.buf.extend_from_slice(&bytes[..=end]);
        let line = std::mem::take(&mut self.buf);
        if line.len() > MAX_LINE {
            self.lost(emit);
            return &[];
        }
        let empty = line == b"\r\n" || line == b"\n";
        match self.state {
            H1State::ChunkSize => match httparse::parse_chunk_size(&line) {
                Ok(httparse::Status::Complete((_, 0))) => self.state = H1State::Trailers,
                Ok(httparse::Status::Complete((_, size))) => self.state = H1State::ChunkData(size),
                _ => self.lost(emit),
            },
            H1State::ChunkEnd if empty => self.state = H1State::ChunkSize,
            H1State::Trailers if empty => self.state = H1State::Head,
            H1State::Trailers => {}
            _ => self.lost(emit),
        }
        &bytes[end + 1..]
    }
}

/// The HTTP/2 client connection preface (RFC 9113 §3.4).
const PREFACE_LEN: usize = 24;
const FRAME_HEADERS: u8 = 0x1;
const FRAME_CONTINUATION: u8 = 0x9;
const FLAG_END_HEADERS: u8 = 0x4;

/// Follows HTTP/2 frames to find header blocks (HEADERS … END_HEADERS).
#[derive(Debug, Default)]
pub struct H2Tracker {
    preface_seen: usize,
    frame_header: [u8; 9],
    header_seen: usize,
    payload_left: usize,
    ends_block: bool,
    in_block: bool,
}

impl H2Tracker {
    /// Feeds bytes read from the client; `emit` receives the events in order.
    pub fn feed(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(Event)) {
        if self.preface_seen < PREFACE_LEN {
            let n = (PREFACE_LEN - self.preface_seen).min(bytes.len());
            self.preface_seen += n;
            bytes = &bytes[n..];
        }
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let n = self.payload_left.min(bytes.len());
                self.payload_left -= n;
                bytes = &bytes[n..];
                if self.payload_left == 0 {
                    self.frame_done(emit);
                }
                continue;
            }
            let n = (9 - self.header_seen).min(bytes.len());
            self.frame_header[self.header_seen..self.header_seen + n].copy_from_slice(&bytes[..n]);
            self.header_seen += n;
            bytes = &bytes[n..];
            if self.header_seen < 9 {
                continue;
            }
            self.header_seen = 0;
            let [l0, l1, l2, kind, flags, ..] = self.frame_header;
            let length = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
            let header_frame = kind == FRAME_HEADERS || (kind == FRAME_CONTINUATION && self.in_block);
            if kind == FRAME_HEADERS && !self.in_block {
                self.in_block = true;
                emit(Event::HeadStarted);
            }
            self.ends_block = header_frame && flags & FLAG_END_HEADERS != 0;
            self.payload_left = length;
            if length == 0 {
                self.frame_done(emit);
            }
        }
    }

    fn frame_done(&mut self, emit: &mut impl FnMut(Event)) {
        if self.ends_block {
            self.ends_block = false;
            self.in_block = false;
            emit(Event::HeadComplete { conflicting_framing: false });
        }
    }
}

#[cfg(test)]
mod tests;
