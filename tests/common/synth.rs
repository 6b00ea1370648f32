//! A deterministic generator of synthetic captures, for robustness tests
//! (real traffic lives in samples/; this builds damaged and hostile input).

use etherparse::PacketBuilder;

/// A classic pcap (little-endian, microseconds, Ethernet) built in memory.
pub struct Pcap {
    pub bytes: Vec<u8>,
    pub ts_us: u64,
}

impl Default for Pcap {
    fn default() -> Self {
        Self::new()
    }
}

impl Pcap {
    pub fn new() -> Self {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&262_144u32.to_le_bytes());
        bytes.extend_from_slice(&1u32.to_le_bytes());
        Pcap {
            bytes,
            ts_us: 1_700_000_000_000_000,
        }
    }

    /// A capture of another link type (the records are the caller's).
    pub fn with_link(link: u32) -> Self {
        let mut p = Self::new();
        let n = p.bytes.len();
        p.bytes[n - 4..].copy_from_slice(&link.to_le_bytes());
        p
    }

    /// Appends a record; `caplen` below the data length snaps it.
    pub fn record(&mut self, data: &[u8], caplen: Option<usize>) {
        self.ts_us += 10;
        let cap = caplen.unwrap_or(data.len()).min(data.len());
        for x in [
            (self.ts_us / 1_000_000) as u32,
            (self.ts_us % 1_000_000) as u32,
            cap as u32,
            data.len() as u32,
        ] {
            self.bytes.extend_from_slice(&x.to_le_bytes());
        }
        self.bytes.extend_from_slice(&data[..cap]);
    }
}

/// One TCP connection between a client and a server, both sides' sequence numbers tracked.
pub struct Flow {
    pub client: ([u8; 4], u16),
    pub server: ([u8; 4], u16),
    pub seq: [u32; 2],
    /// Carried over IPv6 (the addresses are the IPv4 ones mapped into fd00::/8).
    pub v6: bool,
}

impl Flow {
    pub fn new(n: u32) -> Self {
        let ip = [10, (n >> 16) as u8, (n >> 8) as u8, n as u8];
        Flow {
            client: (ip, 40000 + (n % 20000) as u16),
            server: ([10, 255, 0, 1], 8080),
            seq: [1000 + n, 5_000_000 + n],
            v6: false,
        }
    }

    /// The same flow carried over IPv6.
    pub fn new_v6(n: u32) -> Self {
        Flow {
            v6: true,
            ..Self::new(n)
        }
    }

    /// Builds one segment from the client (`from_client`) or the server.
    pub fn segment(&self, from_client: bool, seq: u32, flags: &str, payload: &[u8]) -> Vec<u8> {
        let (src, dst) = if from_client {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let ack = self.seq[usize::from(from_client)];
        let eth = PacketBuilder::ethernet2([2; 6], [4; 6]);
        let ip = if self.v6 {
            let v6 = |a: [u8; 4]| {
                let mut x = [0u8; 16];
                x[0] = 0xfd;
                x[12..].copy_from_slice(&a);
                x
            };
            eth.ipv6(v6(src.0), v6(dst.0), 64)
        } else {
            eth.ipv4(src.0, dst.0, 64)
        };
        let mut b = ip.tcp(src.1, dst.1, seq, 65535);
        if flags.contains('S') {
            b = b.syn();
        }
        if flags.contains('F') {
            b = b.fin();
        }
        if flags.contains('R') {
            b = b.rst();
        }
        if flags.contains('A') || !flags.contains('S') || !from_client {
            b = b.ack(ack);
        }
        let mut v = Vec::with_capacity(payload.len() + 64);
        b.write(&mut v, payload).unwrap();
        v
    }

    /// Sends `payload` in order, advancing the sender's sequence number.
    pub fn send(&mut self, cap: &mut Pcap, from_client: bool, payload: &[u8]) {
        let i = usize::from(!from_client);
        for chunk in payload.chunks(1400) {
            let p = self.segment(from_client, self.seq[i], "A", chunk);
            cap.record(&p, None);
            self.seq[i] = self.seq[i].wrapping_add(chunk.len() as u32);
        }
    }

    /// Sends a FIN (with ACK) from one side, advancing its sequence number.
    pub fn fin(&mut self, cap: &mut Pcap, from_client: bool) {
        let i = usize::from(!from_client);
        let fin = self.segment(from_client, self.seq[i], "FA", &[]);
        cap.record(&fin, None);
        self.seq[i] = self.seq[i].wrapping_add(1);
    }

    pub fn open(&mut self, cap: &mut Pcap) {
        let syn = self.segment(true, self.seq[0], "S", &[]);
        cap.record(&syn, None);
        self.seq[0] += 1;
        let synack = self.segment(false, self.seq[1], "SA", &[]);
        cap.record(&synack, None);
        self.seq[1] += 1;
    }

    /// A valid upgrade; with `deflate`, permessage-deflate is negotiated.
    pub fn upgrade(&mut self, cap: &mut Pcap, deflate: bool) {
        let ext = if deflate {
            "Sec-WebSocket-Extensions: permessage-deflate\r\n"
        } else {
            ""
        };
        let req = format!(
            "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
        );
        self.send(cap, true, req.as_bytes());
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n{ext}\r\n"
        );
        self.send(cap, false, resp.as_bytes());
    }

    /// Flows 0..n, each opened and upgraded (without deflate) in turn.
    pub fn upgraded(cap: &mut Pcap, n: u32) -> Vec<Flow> {
        let mut flows: Vec<Flow> = (0..n).map(Flow::new).collect();
        for f in &mut flows {
            f.open(cap);
            f.upgrade(cap, false);
        }
        flows
    }
}

/// Encodes a frame; client frames are masked with a fixed key.
pub fn frame(from_client: bool, b0: u8, payload: &[u8]) -> Vec<u8> {
    frame_keyed(from_client, b0, payload, [0xa1, 0xb2, 0xc3, 0xd4])
}

/// Encodes a frame; client frames are masked with `key`.
pub fn frame_keyed(from_client: bool, b0: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    let mut v = vec![b0];
    let m = if from_client { 0x80 } else { 0 };
    let n = payload.len();
    if n <= 125 {
        v.push(m | n as u8);
    } else if n <= 0xFFFF {
        v.push(m | 126);
        v.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        v.push(m | 127);
        v.extend_from_slice(&(n as u64).to_be_bytes());
    }
    if from_client {
        v.extend_from_slice(&key);
        v.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        v.extend_from_slice(payload);
    }
    v
}

/// A pcapng file: section header, interfaces of the given link types, then
/// enhanced packet blocks (interface, data).
pub fn pcapng(links: &[u16], packets: &[(u32, Vec<u8>)]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, ty: u32, body: &[u8]) {
        let pad = (4 - body.len() % 4) % 4;
        let len = (12 + body.len() + pad) as u32;
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.extend(std::iter::repeat_n(0u8, pad));
        out.extend_from_slice(&len.to_le_bytes());
    }
    let mut v = Vec::new();
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    block(&mut v, 0x0a0d_0d0a, &shb);
    for l in links {
        let mut idb = l.to_le_bytes().to_vec();
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&262_144u32.to_le_bytes());
        block(&mut v, 1, &idb);
    }
    for (i, (ifc, data)) in packets.iter().enumerate() {
        let mut epb = ifc.to_le_bytes().to_vec();
        let ts = 1_700_000_000_000_000u64 + i as u64;
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(data);
        block(&mut v, 6, &epb);
    }
    v
}
