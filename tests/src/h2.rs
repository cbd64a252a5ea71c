//! A raw HTTP/2 client, frame by frame (RFC 9113), for the clients a real HTTP/2 library
//! refuses to be: streams opened by the thousand at once, windows never opened, answers never
//! read. Header blocks are HPACK literals and static-table entries only (no dynamic table, no
//! Huffman), so a frame is the same bytes whatever was sent before it.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Frame types.
pub const DATA: u8 = 0x0;
/// Frame types.
pub const HEADERS: u8 = 0x1;
/// Frame types.
pub const RST_STREAM: u8 = 0x3;
/// Frame types.
pub const SETTINGS: u8 = 0x4;
/// Frame types.
pub const GOAWAY: u8 = 0x7;

/// Flags.
pub const END_STREAM: u8 = 0x1;
/// Flags.
pub const END_HEADERS: u8 = 0x4;
/// Flags (SETTINGS).
pub const ACK: u8 = 0x1;

/// Error codes of RST_STREAM and GOAWAY.
pub const REFUSED_STREAM: u32 = 0x7;
/// Error codes of RST_STREAM and GOAWAY.
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// `SETTINGS_INITIAL_WINDOW_SIZE`: the flow-control window of each stream the peer may fill
/// before the client reads (and says so with WINDOW_UPDATE).
pub const INITIAL_WINDOW_SIZE: u16 = 0x4;

/// The gRPC health methods' paths.
pub const WATCH: &str = "/grpc.health.v1.Health/Watch";
/// The gRPC health methods' paths.
pub const CHECK: &str = "/grpc.health.v1.Health/Check";

/// An HTTP/2 frame as read: type, flags, stream, payload.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Its type.
    pub kind: u8,
    /// Its flags.
    pub flags: u8,
    /// Its stream (0: the connection).
    pub stream: u32,
    /// Its payload.
    pub payload: Vec<u8>,
}

impl Frame {
    /// The error code of a RST_STREAM or GOAWAY frame.
    pub fn error_code(&self) -> Option<u32> {
        let at = match self.kind {
            RST_STREAM => 0,
            GOAWAY => 4,
            _ => return None,
        };
        let code = self.payload.get(at..at + 4)?;
        Some(u32::from_be_bytes([code[0], code[1], code[2], code[3]]))
    }

    /// Whether a HEADERS frame is a `:status 200` response head (hyper sends it as the static
    /// table's entry 8, one byte).
    pub fn is_ok_head(&self) -> bool {
        self.kind == HEADERS && self.payload.first() == Some(&0x88)
    }
}

/// Reads one frame; `None` at the end of the connection (or an error).
pub async fn read_frame(stream: &mut (impl AsyncRead + Unpin)) -> Option<Frame> {
    let mut head = [0u8; 9];
    stream.read_exact(&mut head).await.ok()?;
    let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await.ok()?;
    Some(Frame {
        kind: head[3],
        flags: head[4],
        stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
        payload,
    })
}

/// One frame's bytes.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("a small frame");
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The connection preface, a SETTINGS frame with `settings` (identifier, value), and the
/// acknowledgement of the server's SETTINGS (sent first by every HTTP/2 server).
pub fn start(settings: &[(u16, u32)]) -> Vec<u8> {
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    let payload: Vec<u8> = settings
        .iter()
        .flat_map(|(id, value)| [id.to_be_bytes().to_vec(), value.to_be_bytes().to_vec()].concat())
        .collect();
    out.extend(frame(SETTINGS, 0, 0, &payload));
    out.extend(frame(SETTINGS, ACK, 0, &[]));
    out
}

/// An HPACK string literal (no Huffman).
fn literal(text: &str) -> Vec<u8> {
    let len = u8::try_from(text.len()).expect("under 127 bytes");
    assert!(len < 127, "a one-byte length");
    [vec![len], text.as_bytes().to_vec()].concat()
}

/// A complete HEADERS frame: `GET path` on `stream`, END_STREAM | END_HEADERS.
pub fn get(stream: u32, path: &str) -> Vec<u8> {
    // `:method GET`, `:scheme http` (static entries 2 and 6); `:path` and `:authority x` as
    // literals with incremental indexing of the static names 4 and 1.
    let mut block = vec![0x82, 0x86, 0x44];
    block.extend(literal(path));
    block.extend([0x41, 1, b'x']);
    frame(HEADERS, END_STREAM | END_HEADERS, stream, &block)
}

/// A gRPC call with one request message: HEADERS (`POST path`, `content-type:
/// application/grpc`, `te: trailers`) on `stream`, then the DATA frame that carries the gRPC
/// message `HealthCheckRequest { service }` and ends the stream.
pub fn grpc_call(stream: u32, path: &str, service: &str) -> Vec<u8> {
    // `:method POST`, `:scheme http`; the rest literals without indexing: `:path` and
    // `:authority` (static names 4 and 1), `content-type` (static name 31: 15 + 16 in a 4-bit
    // prefix), `te` (a new name).
    let mut block = vec![0x83, 0x86, 0x04];
    block.extend(literal(path));
    block.extend([0x01, 1, b'x', 0x0f, 0x10]);
    block.extend(literal("application/grpc"));
    block.push(0x00);
    block.extend(literal("te"));
    block.extend(literal("trailers"));
    let mut out = frame(HEADERS, END_HEADERS, stream, &block);
    // The message: field 1 (tag 0x0a), the name; empty for `""`.
    let message = if service.is_empty() {
        Vec::new()
    } else {
        [vec![0x0a], literal(service)].concat()
    };
    let mut data = vec![0];
    data.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    data.extend(message);
    out.extend(frame(DATA, END_STREAM, stream, &data));
    out
}

/// The `HealthCheckResponse` statuses in the gRPC messages of `data` (a stream's DATA
/// payloads, concatenated): 1 `SERVING`, 2 `NOT_SERVING`, 3 `SERVICE_UNKNOWN`.
pub fn grpc_statuses(mut data: &[u8]) -> Vec<i32> {
    let mut out = Vec::new();
    while data.len() >= 5 {
        let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
        let Some(message) = data.get(5..5 + len) else {
            break;
        };
        // Field 1 (tag 0x08), a varint under 128; absent: 0 (`UNKNOWN`).
        out.push(match message {
            [0x08, status, ..] => i32::from(*status),
            _ => 0,
        });
        data = &data[5 + len..];
    }
    out
}
