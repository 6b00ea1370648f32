//! RFC 8441 WebSockets over HTTP/2 between two peers built on the `h2`
//! crate (and rustls for TLS), for the samples in samples/h2/h2rs-*:
//! `h2rs server|client PORT TLS(0|1) SCENARIO`, run by ../h2rs_record.sh.
//! Each peer prints JSON lines: every WebSocket frame and message it sent
//! and received (stream, opcode, fin, length, SHA-256 of the payload),
//! requests, responses and resets. WebSocket frames are written by hand
//! (client frames masked) inside DATA frames.
//!
//! Scenarios (anything not listed is scenario 1's traffic): 1, two
//! WebSockets and a GET on one connection; 3, HPACK churn (custom headers,
//! SETTINGS_HEADER_TABLE_SIZE 512) and a client RST_STREAM(CANCEL) inside a
//! frame; 5, a refused CONNECT, SSE, CONTINUATION, PUSH_PROMISE; 6, large
//! frame sizes, one-byte and empty DATA frames. Environment: H2RS_CERT_DIR
//! (the server's cert.pem and key.pem), H2RS_REJECT (the client refuses the
//! certificate), SSLKEYLOGFILE (rustls's key log); H2WS_SUITE, H2WS_TLS12,
//! H2WS_KEYUPDATE and H2WS_NWS (cipher suite, TLS 1.2, KeyUpdate after that
//! many bytes, WebSocket streams) were used by the probe, not by the script.

use bytes::Bytes;
use h2::ext::Protocol;
use h2::{Reason, RecvStream, SendStream};
use http::{Method, Request, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn log(app: &str, stream: u32, dir: &str, kind: &str, op: u8, fin: bool, payload: &[u8], extra: &str) {
    println!(
        "{{\"app\":\"{}\",\"stream\":{},\"dir\":\"{}\",\"kind\":\"{}\",\"opcode\":{},\"fin\":{},\"len\":{},\"sha256\":\"{}\"{}}}",
        app, stream, dir, kind, op, fin, payload.len(), sha(payload), extra
    );
}

fn frame(fin: bool, op: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut v = Vec::new();
    v.push((if fin { 0x80 } else { 0 }) | op);
    let m = if mask.is_some() { 0x80 } else { 0 };
    let n = payload.len();
    if n < 126 {
        v.push(m | n as u8);
    } else if n < 65536 {
        v.push(m | 126);
        v.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        v.push(m | 127);
        v.extend_from_slice(&(n as u64).to_be_bytes());
    }
    if let Some(k) = mask {
        v.extend_from_slice(&k);
        for (i, b) in payload.iter().enumerate() {
            v.push(b ^ k[i % 4]);
        }
    } else {
        v.extend_from_slice(payload);
    }
    v
}

struct WsParser {
    buf: Vec<u8>,
    msg: Vec<u8>,
    msg_op: u8,
}
struct F {
    fin: bool,
    op: u8,
    payload: Vec<u8>,
}
impl WsParser {
    fn new() -> Self {
        WsParser { buf: vec![], msg: vec![], msg_op: 0 }
    }
    fn feed(&mut self, d: &[u8]) -> Vec<F> {
        self.buf.extend_from_slice(d);
        let mut out = vec![];
        loop {
            let b = &self.buf;
            if b.len() < 2 {
                break;
            }
            let fin = b[0] & 0x80 != 0;
            let op = b[0] & 0x0f;
            let masked = b[1] & 0x80 != 0;
            let mut len = (b[1] & 0x7f) as usize;
            let mut p = 2;
            if len == 126 {
                if b.len() < 4 { break; }
                len = u16::from_be_bytes([b[2], b[3]]) as usize;
                p = 4;
            } else if len == 127 {
                if b.len() < 10 { break; }
                len = u64::from_be_bytes(b[2..10].try_into().unwrap()) as usize;
                p = 10;
            }
            let mut key = [0u8; 4];
            if masked {
                if b.len() < p + 4 { break; }
                key.copy_from_slice(&b[p..p + 4]);
                p += 4;
            }
            if b.len() < p + len { break; }
            let mut payload = b[p..p + len].to_vec();
            if masked {
                for (i, x) in payload.iter_mut().enumerate() {
                    *x ^= key[i % 4];
                }
            }
            self.buf.drain(..p + len);
            out.push(F { fin, op, payload });
        }
        out
    }
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + seed as usize * 7) % 251) as u8).collect()
}
fn text_pattern(n: usize, seed: char) -> Vec<u8> {
    let s = format!("{}abcdefghijklmnopqrstuvwxyz0123456789 ", seed);
    s.as_bytes().iter().cycle().take(n).cloned().collect()
}

static mut MASKCTR: u32 = 0x1234_5678;
fn mk() -> [u8; 4] {
    unsafe {
        MASKCTR = MASKCTR.wrapping_mul(1664525).wrapping_add(1013904223);
        MASKCTR.to_be_bytes()
    }
}

struct Sender {
    app: &'static str,
    id: u32,
    tx: SendStream<Bytes>,
    masked: bool,
    msg: Vec<u8>,
    msg_op: u8,
}
impl Sender {
    // send one ws frame; split: if Some(k), the encoded frame is sent in two send_data calls at byte k
    fn send(&mut self, fin: bool, op: u8, payload: &[u8], split: Option<usize>, eos: bool) {
        let mask = if self.masked { Some(mk()) } else { None };
        let f = frame(fin, op, payload, mask);
        log(self.app, self.id, "sent", "frame", op, fin, payload, "");
        if op < 8 {
            if op != 0 {
                self.msg_op = op;
                self.msg.clear();
            }
            self.msg.extend_from_slice(payload);
            if fin {
                log(self.app, self.id, "sent", "msg", self.msg_op, true, &self.msg.clone(), "");
            }
        } else {
            log(self.app, self.id, "sent", "msg", op, true, payload, "");
        }
        match split {
            Some(k) => {
                self.tx.send_data(Bytes::copy_from_slice(&f[..k]), false).unwrap();
                self.tx.send_data(Bytes::copy_from_slice(&f[k..]), eos).unwrap();
            }
            None => self.tx.send_data(Bytes::from(f), eos).unwrap(),
        }
    }
    fn raw(&mut self, b: &[u8], eos: bool) {
        self.tx.send_data(Bytes::copy_from_slice(b), eos).unwrap();
    }
}

// read loop: returns when END_STREAM or error; calls back on frames
async fn reader(app: &'static str, id: u32, mut body: RecvStream, mut on: impl FnMut(&F)) {
    let mut p = WsParser::new();
    loop {
        match body.data().await {
            Some(Ok(d)) => {
                let _ = body.flow_control().release_capacity(d.len());
                for f in p.feed(&d) {
                    log(app, id, "recv", "frame", f.op, f.fin, &f.payload, "");
                    if f.op < 8 {
                        if f.op != 0 {
                            p.msg_op = f.op;
                            p.msg.clear();
                        }
                        p.msg.extend_from_slice(&f.payload);
                        if f.fin {
                            let m = p.msg.clone();
                            log(app, id, "recv", "msg", p.msg_op, true, &m, "");
                        }
                    } else {
                        let extra = if f.op == 8 && f.payload.len() >= 2 {
                            format!(",\"code\":{},\"reason\":\"{}\"", u16::from_be_bytes([f.payload[0], f.payload[1]]), String::from_utf8_lossy(&f.payload[2..]))
                        } else { String::new() };
                        log(app, id, "recv", "msg", f.op, true, &f.payload, &extra);
                    }
                    on(&f);
                }
            }
            Some(Err(e)) => {
                println!("{{\"app\":\"{}\",\"stream\":{},\"event\":\"recv-error\",\"err\":\"{}\"}}", app, id, e);
                return;
            }
            None => {
                println!("{{\"app\":\"{}\",\"stream\":{},\"event\":\"end_stream\",\"leftover\":{}}}", app, id, p.buf.len());
                return;
            }
        }
    }
}

fn custom_headers(b: http::request::Builder, n: usize, round: usize) -> http::request::Builder {
    let mut b = b;
    for i in 0..n {
        // most values repeat across streams; a few change per round so the table churns
        let v = if i % 5 == 0 { format!("value-{}-round-{}-xxxxxxxxxxxxxxxxxxxxxxxx", i, round) } else { format!("stable-value-{}-yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", i) };
        b = b.header(format!("x-probe-{}", i), v);
    }
    b
}

// ---------------- server ----------------
async fn serve_conn<T: AsyncRead + AsyncWrite + Unpin + Send + 'static>(io: T, scen: u32) {
    let mut b = h2::server::Builder::new();
    b.enable_connect_protocol();
    if scen == 3 {
        b.header_table_size(65536);
    }
    if scen == 6 {
        b.max_frame_size(1_000_000).initial_window_size(4_000_000).initial_connection_window_size(8_000_000);
    }
    let mut conn = b.handshake::<_, Bytes>(io).await.unwrap();
    let mut round = 0usize;
    while let Some(r) = conn.accept().await {
        let (req, mut respond) = match r {
            Ok(x) => x,
            Err(e) => {
                println!("{{\"app\":\"server\",\"event\":\"accept-error\",\"err\":\"{}\"}}", e);
                break;
            }
        };
        round += 1;
        let id = respond.stream_id().as_u32();
        let proto = req.extensions().get::<Protocol>().map(|p| p.as_str().to_string());
        println!("{{\"app\":\"server\",\"stream\":{},\"event\":\"request\",\"method\":\"{}\",\"path\":\"{}\",\"protocol\":{:?}}}", id, req.method(), req.uri().path(), proto.clone().unwrap_or_default());
        let mut rb = Response::builder().status(200);
        if scen == 3 {
            for i in 0..20 {
                let v = if i % 4 == 0 { format!("srv-{}-r{}-zzzzzzzzzzzzzzzzzzzzz", i, round) } else { format!("srv-stable-{}-wwwwwwwwwwwwwwwwwwwwwwwww", i) };
                rb = rb.header(format!("x-srv-{}", i), v);
            }
        }
        if scen == 5 && req.uri().path() == "/ws/reject" {
            let mut tx = respond.send_response(Response::builder().status(403).header("content-type", "application/octet-stream").body(()).unwrap(), false).unwrap();
            let body: &'static [u8] = b"\x81\x05hello\x82\x03abc forbidden";
            println!("{{\"app\":\"server\",\"stream\":{},\"event\":\"reject-403\",\"len\":{}}}", id, body.len());
            tx.send_data(Bytes::from_static(body), true).unwrap();
            continue;
        }
        if scen == 5 && req.uri().path() == "/events" {
            let mut tx = respond.send_response(Response::builder().status(200).header("content-type", "text/event-stream").header("cache-control", "no-cache").body(()).unwrap(), false).unwrap();
            tokio::spawn(async move {
                let evs: [&[u8]; 3] = [b"id: 1\nevent: tick\ndata: one\n\n", b": comment\ndata: two\ndata: lines\n\n", b"id: 3\nretry: 1500\ndata: three\n\n"];
                for (i, e) in evs.iter().enumerate() {
                    tokio::time::sleep(Duration::from_millis(60)).await;
                    println!("{{\"app\":\"server\",\"stream\":{},\"event\":\"sse-sent\",\"n\":{},\"len\":{}}}", id, i, e.len());
                    tx.send_data(Bytes::from_static(e), i == 2).unwrap();
                }
            });
            continue;
        }
        if scen == 5 && req.uri().path() == "/page" {
            let preq = Request::builder().method(Method::GET).uri(format!("{}://{}/pushed.js", req.uri().scheme_str().unwrap_or("http"), req.uri().authority().map(|a| a.as_str()).unwrap_or("127.0.0.1"))).body(()).unwrap();
            match respond.push_request(preq) {
                Ok(mut pr) => {
                    let pid = pr.stream_id().as_u32();
                    let mut ptx = pr.send_response(Response::builder().status(200).header("content-type", "application/javascript").body(()).unwrap(), false).unwrap();
                    ptx.send_data(Bytes::from_static(b"console.log('pushed');\n"), true).unwrap();
                    println!("{{\"app\":\"server\",\"stream\":{},\"event\":\"pushed\",\"promised\":{}}}", id, pid);
                }
                Err(e) => println!("{{\"app\":\"server\",\"event\":\"push-failed\",\"err\":\"{}\"}}", e),
            }
            let mut tx = respond.send_response(Response::builder().status(200).header("content-type", "text/html").body(()).unwrap(), false).unwrap();
            tx.send_data(Bytes::from_static(b"<html><script src=/pushed.js></script></html>\n"), true).unwrap();
            continue;
        }
        if scen == 5 {
            rb = rb.header("x-big-resp", "r".repeat(20000));
        }
        if req.method() == Method::CONNECT && proto.as_deref() == Some("websocket") {
            let path = req.uri().path().to_string();
            let resp = rb.body(()).unwrap();
            let tx = respond.send_response(resp, false).unwrap();
            let body = req.into_body();
            tokio::spawn(async move {
                let mut s = Sender { app: "server", id, tx, masked: false, msg: vec![], msg_op: 0 };
                // unsolicited server messages
                if path.ends_with("/a") {
                    let big = pattern(if scen == 6 { 300_000 } else { 40000 }, 9);
                    s.send(true, 2, &big, Some(3), false);
                } else {
                    s.send(true, 1, b"welcome to B", None, false);
                }
                let s = std::sync::Arc::new(std::sync::Mutex::new(s));
                let s2 = s.clone();
                let rst_mid = path.ends_with("/srv-rst");
                reader("server", id, body, move |f| {
                    let mut s = s2.lock().unwrap();
                    match f.op {
                        9 => s.send(true, 10, &f.payload, None, false),
                        8 => {
                            s.send(true, 8, &f.payload, None, false);
                            s.raw(&[], true);
                        }
                        1 | 2 | 0 if f.fin => {
                            if rst_mid {
                                // partial frame then RST_STREAM
                                let big = pattern(10000, 3);
                                let fr = frame(true, 2, &big, None);
                                log("server", s.id, "sent", "partial-frame", 2, true, &big, ",\"sent_bytes\":3000");
                                s.raw(&fr[..3000], false);
                                s.tx.send_reset(Reason::CANCEL);
                                println!("{{\"app\":\"server\",\"stream\":{},\"event\":\"sent-rst\"}}", s.id);
                            } else {
                                let m = b"echo".to_vec();
                                s.send(true, 1, &m, None, false);
                            }
                        }
                        _ => {}
                    }
                })
                .await;
                drop(s);
            });
        } else {
            let resp = rb.header("content-type", "text/plain").body(()).unwrap();
            let mut tx = respond.send_response(resp, false).unwrap();
            let body = b"plain body: not a websocket\n";
            println!("{{\"app\":\"server\",\"stream\":{},\"event\":\"plain-response\",\"len\":{}}}", id, body.len());
            // a body that looks like a WebSocket frame start would be fine too
            tx.send_data(Bytes::from_static(body), true).unwrap();
        }
    }
    println!("{{\"app\":\"server\",\"event\":\"conn-done\"}}");
}

// ---------------- client ----------------
async fn run_client<T: AsyncRead + AsyncWrite + Unpin + Send + 'static>(io: T, port: u16, scen: u32) {
    let mut b = h2::client::Builder::new();
    if scen == 3 {
        b.header_table_size(512);
    }
    if scen == 6 {
        b.max_frame_size(100_000).initial_window_size(4_000_000).initial_connection_window_size(8_000_000);
    }
    let (mut sr, conn) = b.handshake::<_, Bytes>(io).await.unwrap();
    let ch = tokio::spawn(async move {
        if let Err(e) = conn.await {
            println!("{{\"app\":\"client\",\"event\":\"conn-error\",\"err\":\"{}\"}}", e);
        }
    });
    for _ in 0..200 {
        sr = sr.ready().await.unwrap();
        if sr.is_extended_connect_protocol_enabled() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("{{\"app\":\"client\",\"event\":\"ext-connect-enabled\",\"v\":{}}}", sr.is_extended_connect_protocol_enabled());
    let auth = format!("127.0.0.1:{}", port);
    let scheme = "https";
    let _ = scheme;
    let mut round = 0usize;
    let mut ws_open = |sr: &mut h2::client::SendRequest<Bytes>, path: &str, ext: bool, round: usize| {
        let mut rb = Request::builder()
            .method(Method::CONNECT)
            .uri(format!("http://{}{}", auth, path))
            .extension(Protocol::from_static("websocket"))
            .header("sec-websocket-version", "13");
        if ext {
            rb = rb.header("sec-websocket-extensions", "permessage-deflate; client_max_window_bits");
        }
        if scen == 3 {
            rb = custom_headers(rb, 25, round);
        }
        if scen == 5 {
            rb = rb.header("x-big-req", "q".repeat(20000));
        }
        let (rf, tx) = sr.send_request(rb.body(()).unwrap(), false).unwrap();
        let id = tx.stream_id().as_u32();
        println!("{{\"app\":\"client\",\"stream\":{},\"event\":\"connect\",\"path\":\"{}\"}}", id, path);
        (rf, tx, id)
    };
    let get = |sr: &mut h2::client::SendRequest<Bytes>, path: &str, round: usize| {
        let mut rb = Request::builder().method(Method::GET).uri(format!("http://127.0.0.1:{}{}", port, path));
        if scen == 3 {
            rb = custom_headers(rb, 25, round);
        }
        let (rf, tx) = sr.send_request(rb.body(()).unwrap(), true).unwrap();
        let id = tx.stream_id().as_u32();
        println!("{{\"app\":\"client\",\"stream\":{},\"event\":\"get\",\"path\":\"{}\"}}", id, path);
        tokio::spawn(async move {
            let resp = rf.await.unwrap();
            let st = resp.status().as_u16();
            let mut body = resp.into_body();
            let mut all = vec![];
            while let Some(Ok(d)) = body.data().await {
                let _ = body.flow_control().release_capacity(d.len());
                all.extend_from_slice(&d);
            }
            println!("{{\"app\":\"client\",\"stream\":{},\"event\":\"get-done\",\"status\":{},\"len\":{},\"sha256\":\"{}\"}}", id, st, all.len(), sha(&all));
        })
    };

    if scen == 5 {
        // rejected extended CONNECT
        let rb = Request::builder().method(Method::CONNECT).uri(format!("http://{}/ws/reject", auth)).extension(Protocol::from_static("websocket")).header("sec-websocket-version", "13");
        let (rf, _tx) = sr.send_request(rb.body(()).unwrap(), false).unwrap();
        let rid = _tx.stream_id().as_u32();
        sr = sr.ready().await.unwrap();
        // SSE
        let (ef, _) = sr.send_request(Request::builder().method(Method::GET).uri(format!("http://{}/events", auth)).header("accept", "text/event-stream").body(()).unwrap(), true).unwrap();
        sr = sr.ready().await.unwrap();
        // page with push
        let (mut pf, _) = sr.send_request(Request::builder().method(Method::GET).uri(format!("http://{}/page", auth)).body(()).unwrap(), true).unwrap();
        sr = sr.ready().await.unwrap();
        let mut pushes = pf.push_promises();
        let pt = tokio::spawn(async move {
            while let Some(Ok(pp)) = pushes.push_promise().await {
                let (preq, presp) = pp.into_parts();
                let r = presp.await.unwrap();
                let mut b = r.into_body();
                let mut all = vec![];
                while let Some(Ok(d)) = b.data().await { let _ = b.flow_control().release_capacity(d.len()); all.extend_from_slice(&d); }
                println!("{{\"app\":\"client\",\"event\":\"push-received\",\"path\":\"{}\",\"len\":{}}}", preq.uri().path(), all.len());
            }
        });
        let r = rf.await.unwrap();
        let mut b = r.into_body();
        let st = 403; let _ = st;
        let mut all = vec![];
        while let Some(Ok(d)) = b.data().await { let _ = b.flow_control().release_capacity(d.len()); all.extend_from_slice(&d); }
        println!("{{\"app\":\"client\",\"stream\":{},\"event\":\"reject-response\",\"len\":{}}}", rid, all.len());
        let r = pf.await.unwrap();
        let mut b = r.into_body();
        while let Some(Ok(d)) = b.data().await { let _ = b.flow_control().release_capacity(d.len()); }
        let _ = tokio::time::timeout(Duration::from_secs(2), pt).await;
        let r = ef.await.unwrap();
        let mut b = r.into_body();
        while let Some(Ok(d)) = b.data().await {
            let _ = b.flow_control().release_capacity(d.len());
            println!("{{\"app\":\"client\",\"event\":\"sse-chunk\",\"len\":{},\"text\":{:?}}}", d.len(), String::from_utf8_lossy(&d));
        }
    }
    let mut tasks = vec![];
    let n_ws = std::env::var("H2WS_NWS").ok().and_then(|v| v.parse().ok()).unwrap_or(if scen == 3 { 3 } else { 1 });
    let mut streams = vec![];
    for k in 0..n_ws {
        round += 1;
        let a = ws_open(&mut sr, if k == 0 { "/ws/a" } else { "/ws/a" }, true, round);
        sr = sr.ready().await.unwrap();
        round += 1;
        tasks.push(get(&mut sr, "/plain", round));
        sr = sr.ready().await.unwrap();
        round += 1;
        let bb = ws_open(&mut sr, "/ws/b", false, round);
        sr = sr.ready().await.unwrap();
        streams.push(a);
        streams.push(bb);
    }
    let mut senders = vec![];
    for (rf, tx, id) in streams {
        let resp = rf.await.unwrap();
        println!("{{\"app\":\"client\",\"stream\":{},\"event\":\"response\",\"status\":{}}}", id, resp.status().as_u16());
        let body = resp.into_body();
        tasks.push(tokio::spawn(reader("client", id, body, |_| {})));
        senders.push(Sender { app: "client", id, tx, masked: true, msg: vec![], msg_op: 0 });
    }
    let pause = || tokio::time::sleep(Duration::from_millis(15));
    // interleaved script
    for (i, s) in senders.iter_mut().enumerate() {
        let t = format!("hello from client on stream {}", s.id);
        s.send(true, 1, t.as_bytes(), None, false);
        let _ = i;
    }
    pause().await;
    for s in senders.iter_mut() {
        s.send(true, 2, &pattern(300, s.id as u8), None, false);
    }
    pause().await;
    for (i, s) in senders.iter_mut().enumerate() {
        if i % 2 == 0 {
            s.send(true, 1, &text_pattern(70000, 'A'), None, false);
        } else {
            // 200-byte binary with header split after 2 bytes (between len byte and ext len)
            s.send(true, 2, &pattern(200, 77), Some(2), false);
            // and a 20000-byte binary with split in the middle of the mask key
            s.send(true, 2, &pattern(20000, 78), Some(6), false);
        }
    }
    pause().await;
    for s in senders.iter_mut() {
        s.send(false, 1, b"frag-1 ", None, false);
        s.send(true, 9, b"ping-in-middle", None, false);
        s.send(false, 0, b"frag-2 ", None, false);
        s.send(true, 0, b"frag-3", None, false);
    }
    pause().await;
    for s in senders.iter_mut() {
        let p = format!("ping-{}", s.id);
        s.send(true, 9, p.as_bytes(), None, false);
    }
    pause().await;
    if scen == 6 {
        for (i, s) in senders.iter_mut().enumerate() {
            if i % 2 == 0 {
                // byte-by-byte DATA frames
                let payload = text_pattern(100, 'Z');
                let f = frame(true, 1, &payload, Some(mk()));
                log("client", s.id, "sent", "frame", 1, true, &payload, "");
                log("client", s.id, "sent", "msg", 1, true, &payload, "");
                for b in f.iter() { s.raw(&[*b], false); }
                // 500 KB binary in one frame
                s.send(true, 2, &pattern(500_000, 1), None, false);
            } else {
                // empty DATA frames in the middle of a frame
                let payload = pattern(50, 2);
                let f = frame(true, 2, &payload, Some(mk()));
                log("client", s.id, "sent", "frame", 2, true, &payload, "");
                log("client", s.id, "sent", "msg", 2, true, &payload, "");
                s.raw(&f[..1], false);
                s.raw(&[], false);
                s.raw(&f[1..10], false);
                s.raw(&[], false);
                s.raw(&f[10..], false);
                s.send(true, 1, b"", None, false);
                s.send(true, 9, b"", None, false);
            }
        }
        pause().await;
        pause().await;
    }
    if scen == 3 {
        // RST in the middle of a WebSocket message on the first B stream (stream index 1):
        let s = &mut senders[1];
        let big = pattern(10000, 5);
        let fr = frame(true, 2, &big, Some(mk()));
        log("client", s.id, "sent", "partial-frame", 2, true, &big, ",\"sent_bytes\":3000");
        s.raw(&fr[..3000], false);
        pause().await;
        s.tx.send_reset(Reason::CANCEL);
        println!("{{\"app\":\"client\",\"stream\":{},\"event\":\"sent-rst\"}}", s.id);
        pause().await;
    }
    for (i, s) in senders.iter_mut().enumerate() {
        if scen == 3 && i == 1 {
            continue;
        }
        let mut p = 1000u16.to_be_bytes().to_vec();
        if !(scen == 6 && i % 2 == 1) {
            p.extend_from_slice(format!("bye {}", s.id).as_bytes());
        }
        if i % 2 == 0 {
            s.send(true, 8, &p, None, false);
            s.raw(&[], true);
        } else {
            s.send(true, 8, &p, None, true);
        }
    }
    if scen == 3 {
        // server-side RST mid-message: new stream
        round += 1;
        let (rf, tx, id) = ws_open(&mut sr, "/ws/srv-rst", false, round);
        let resp = rf.await.unwrap();
        println!("{{\"app\":\"client\",\"stream\":{},\"event\":\"response\",\"status\":{}}}", id, resp.status().as_u16());
        let body = resp.into_body();
        let rt = tokio::spawn(reader("client", id, body, |_| {}));
        let mut s = Sender { app: "client", id, tx, masked: true, msg: vec![], msg_op: 0 };
        s.send(true, 1, b"please reset", None, false);
        let _ = tokio::time::timeout(Duration::from_secs(2), rt).await;
        drop(s);
    }
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    drop(senders);
    drop(sr);
    let _ = tokio::time::timeout(Duration::from_secs(3), ch).await;
    println!("{{\"app\":\"client\",\"event\":\"done\"}}");
}

struct KU<T> {
    inner: T,
    written: usize,
    threshold: usize,
    done: bool,
    f: fn(&mut T),
}
impl<T: AsyncRead + Unpin> AsyncRead for KU<T> {
    fn poll_read(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}
impl<T: AsyncWrite + Unpin> AsyncWrite for KU<T> {
    fn poll_write(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>, buf: &[u8]) -> std::task::Poll<std::io::Result<usize>> {
        if !self.done && self.written > self.threshold {
            self.done = true;
            let f = self.f;
            f(&mut self.inner);
        }
        let r = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = r { self.written += n; }
        r
    }
    fn poll_flush(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
/// Where the server finds cert.pem and key.pem (`H2RS_CERT_DIR`, default `.`).
fn cert_dir() -> std::path::PathBuf {
    std::env::var_os("H2RS_CERT_DIR").map_or_else(|| ".".into(), Into::into)
}

fn ku_threshold() -> usize {
    std::env::var("H2WS_KEYUPDATE").ok().and_then(|v| v.parse().ok()).unwrap_or(usize::MAX - 1)
}

#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);
impl rustls::client::danger::ServerCertVerifier for AnyCert {
    fn verify_server_cert(&self, _: &rustls::pki_types::CertificateDer<'_>, _: &[rustls::pki_types::CertificateDer<'_>], _: &rustls::pki_types::ServerName<'_>, _: &[u8], _: rustls::pki_types::UnixTime) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        // H2RS_REJECT: the client refuses the (self-signed) certificate as a
        // verifier with no trusted roots would, and the handshake fails.
        if std::env::var_os("H2RS_REJECT").is_some() {
            println!("{{\"app\":\"client\",\"event\":\"cert-rejected\"}}");
            return Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer));
        }
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(&self, m: &[u8], c: &rustls::pki_types::CertificateDer<'_>, d: &rustls::DigitallySignedStruct) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(&self, m: &[u8], c: &rustls::pki_types::CertificateDer<'_>, d: &rustls::DigitallySignedStruct) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let mode = a[1].as_str();
    let port: u16 = a[2].parse().unwrap();
    let tls = a[3] == "1";
    let scen: u32 = a[4].parse().unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    if mode == "server" {
        let l = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        println!("{{\"app\":\"server\",\"event\":\"listening\"}}");
        let (s, _) = l.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        if tls {
            let certs: Vec<_> = rustls_pemfile::certs(&mut &std::fs::read(cert_dir().join("cert.pem")).unwrap()[..]).map(|c| c.unwrap()).collect();
            let key = rustls_pemfile::private_key(&mut &std::fs::read(cert_dir().join("key.pem")).unwrap()[..]).unwrap().unwrap();
            let mut cfg = rustls::ServerConfig::builder_with_provider(provider).with_safe_default_protocol_versions().unwrap().with_no_client_auth().with_single_cert(certs, key).unwrap();
            cfg.alpn_protocols = vec![b"h2".to_vec()];
            let acc = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
            let t = acc.accept(s).await.unwrap();
            let t = KU { inner: t, written: 0, threshold: ku_threshold(), done: false, f: |t: &mut tokio_rustls::server::TlsStream<TcpStream>| { t.get_mut().1.refresh_traffic_keys().unwrap(); println!("{{\"app\":\"server\",\"event\":\"key-update\"}}"); } };
            serve_conn(t, scen).await;
        } else {
            serve_conn(s, scen).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    } else {
        let s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.set_nodelay(true).unwrap();
        if tls {
            let mut prov = rustls::crypto::ring::default_provider();
            if let Ok(suite) = std::env::var("H2WS_SUITE") {
                prov.cipher_suites.retain(|c| format!("{:?}", c.suite()).contains(&suite));
            }
            let prov = Arc::new(prov);
            let vers: &[&rustls::SupportedProtocolVersion] = if std::env::var("H2WS_TLS12").is_ok() { &[&rustls::version::TLS12] } else { &[&rustls::version::TLS13, &rustls::version::TLS12] };
            let mut cfg = rustls::ClientConfig::builder_with_provider(prov).with_protocol_versions(vers).unwrap().dangerous().with_custom_certificate_verifier(Arc::new(AnyCert(provider))).with_no_client_auth();
            cfg.alpn_protocols = vec![b"h2".to_vec()];
            cfg.key_log = Arc::new(rustls::KeyLogFile::new());
            let c = tokio_rustls::TlsConnector::from(Arc::new(cfg));
            let t = c.connect(rustls::pki_types::ServerName::try_from("localhost").unwrap(), s).await.unwrap();
            println!("{{\"app\":\"client\",\"event\":\"alpn\",\"v\":\"{}\"}}", String::from_utf8_lossy(t.get_ref().1.alpn_protocol().unwrap_or(b"none")));
            println!("{{\"app\":\"client\",\"event\":\"tls\",\"version\":\"{:?}\",\"suite\":\"{:?}\"}}", t.get_ref().1.protocol_version(), t.get_ref().1.negotiated_cipher_suite().map(|c| c.suite()));
            let t = KU { inner: t, written: 0, threshold: ku_threshold(), done: false, f: |t: &mut tokio_rustls::client::TlsStream<TcpStream>| { t.get_mut().1.refresh_traffic_keys().unwrap(); println!("{{\"app\":\"client\",\"event\":\"key-update\"}}"); } };
            run_client(t, port, scen).await;
        } else {
            run_client(s, port, scen).await;
        }
    }
}
