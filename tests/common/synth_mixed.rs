//! The benchmark's synthetic traffic (examples/synth_capture.rs), shared with
//! the test that checks its TLS 1.3 version (tests/tls_bench_synth.rs).
//!
//! The module that includes this file must also include `synth.rs` as
//! `synth` beside it.
//!
//! With a key log writer, every connection is wrapped in TLS 1.3 with
//! TLS_AES_128_GCM_SHA256: a ClientHello (supported_versions, key_share),
//! a ServerHello choosing 0x1301, the server's encrypted EncryptedExtensions
//! and Finished, the client's encrypted Finished, then every byte of the
//! plaintext connection as application_data records (at most 16 KiB of
//! plaintext each). The traffic secrets are pseudo-random and written to the
//! key log (NSS format). The WebSocket traffic is the same as without TLS:
//! the loop stops where the plaintext capture would stop.

use super::synth;
use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::io::Write;

pub const CONNS: u32 = 2000;

/// xorshift64: the generator's only source of randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        for c in b.chunks_mut(8) {
            let r = self.next().to_le_bytes();
            c.copy_from_slice(&r[..c.len()]);
        }
        b
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn expand_label(secret: &[u8], label: &[u8], context: &[u8], out: &mut [u8]) {
    let mut info = Vec::new();
    info.extend_from_slice(&(out.len() as u16).to_be_bytes());
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    Hkdf::<Sha256>::from_prk(secret)
        .expect("32-byte secret")
        .expand(&info, out)
        .expect("short output");
}

/// One direction's record protection under one traffic secret.
struct Sealer {
    aead: Aes128Gcm,
    iv: [u8; 12],
    seq: u64,
}

impl Sealer {
    fn new(secret: &[u8; 32]) -> Self {
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        expand_label(secret, b"key", b"", &mut key);
        expand_label(secret, b"iv", b"", &mut iv);
        Sealer {
            aead: Aes128Gcm::new_from_slice(&key).expect("16-byte key"),
            iv,
            seq: 0,
        }
    }

    /// Appends one TLSCiphertext record carrying `data` of content type `ct`.
    fn seal(&mut self, ct: u8, data: &[u8], out: &mut Vec<u8>) {
        let len = data.len() + 1 + 16;
        let header = [0x17, 0x03, 0x03, (len >> 8) as u8, len as u8];
        out.extend_from_slice(&header);
        let start = out.len();
        out.extend_from_slice(data);
        out.push(ct);
        let mut nonce = self.iv;
        for (n, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *n ^= s;
        }
        self.seq += 1;
        let n = aes_gcm::aead::Nonce::<Aes128Gcm>::try_from(&nonce[..]).expect("12-byte nonce");
        let tag = self
            .aead
            .encrypt_inout_detached(&n, &header, (&mut out[start..]).into())
            .expect("record within limits");
        out.extend_from_slice(&tag);
    }
}

fn handshake_msg(t: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![t];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

fn plain_record(ct: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ct, 0x03, if ct == 0x16 { 0x01 } else { 0x03 }];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn ext(t: u16, body: &[u8]) -> Vec<u8> {
    let mut e = t.to_be_bytes().to_vec();
    e.extend_from_slice(&(body.len() as u16).to_be_bytes());
    e.extend_from_slice(body);
    e
}

fn finished(secret: &[u8; 32], transcript: &[u8]) -> Vec<u8> {
    let mut key = [0u8; 32];
    expand_label(secret, b"finished", b"", &mut key);
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&key).expect("any key length");
    mac.update(&Sha256::digest(transcript));
    handshake_msg(20, &mac.finalize().into_bytes())
}

/// A connection's TLS 1.3 state once its handshake is written.
struct Tls {
    client: Sealer,
    server: Sealer,
}

impl Tls {
    /// Writes the handshake of `flow` into `cap` and its secrets to `keylog`.
    fn handshake(
        flow: &mut synth::Flow,
        cap: &mut synth::Pcap,
        rng: &mut Rng,
        keylog: &mut dyn Write,
    ) -> std::io::Result<Tls> {
        let client_random: [u8; 32] = rng.bytes();
        let server_random: [u8; 32] = rng.bytes();
        let session_id: [u8; 32] = rng.bytes();
        let secrets: [[u8; 32]; 4] = [rng.bytes(), rng.bytes(), rng.bytes(), rng.bytes()];
        let (c_share, s_share): ([u8; 32], [u8; 32]) = (rng.bytes(), rng.bytes());
        for (label, s) in [
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0",
            "SERVER_TRAFFIC_SECRET_0",
        ]
        .iter()
        .zip(&secrets)
        {
            writeln!(keylog, "{label} {} {}", hex(&client_random), hex(s))?;
        }
        // ClientHello: TLS_AES_128_GCM_SHA256 only; x25519 key share.
        let mut exts = Vec::new();
        exts.extend(ext(0x002b, &[0x02, 0x03, 0x04])); // supported_versions: TLS 1.3
        exts.extend(ext(0x000a, &[0x00, 0x02, 0x00, 0x1d])); // supported_groups: x25519
        exts.extend(ext(0x000d, &[0x00, 0x04, 0x04, 0x03, 0x08, 0x04])); // signature_algorithms
        let mut ks = vec![0x00, 0x24, 0x00, 0x1d, 0x00, 0x20];
        ks.extend_from_slice(&c_share);
        exts.extend(ext(0x0033, &ks)); // key_share
        let mut ch = vec![0x03, 0x03];
        ch.extend_from_slice(&client_random);
        ch.push(32);
        ch.extend_from_slice(&session_id);
        ch.extend_from_slice(&[0x00, 0x02, 0x13, 0x01, 0x01, 0x00]);
        ch.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        ch.extend(exts);
        let ch = handshake_msg(1, &ch);
        // ServerHello choosing 0x1301 and TLS 1.3.
        let mut exts = ext(0x002b, &[0x03, 0x04]);
        let mut ks = vec![0x00, 0x1d, 0x00, 0x20];
        ks.extend_from_slice(&s_share);
        exts.extend(ext(0x0033, &ks));
        let mut sh = vec![0x03, 0x03];
        sh.extend_from_slice(&server_random);
        sh.push(32);
        sh.extend_from_slice(&session_id);
        sh.extend_from_slice(&[0x13, 0x01, 0x00]);
        sh.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        sh.extend(exts);
        let sh = handshake_msg(2, &sh);
        let ee = handshake_msg(8, &[0x00, 0x00]);
        let mut transcript = [ch.as_slice(), &sh, &ee].concat();
        let server_fin = finished(&secrets[1], &transcript);
        transcript.extend_from_slice(&server_fin);
        let client_fin = finished(&secrets[0], &transcript);

        flow.send(cap, true, &plain_record(0x16, &ch));
        let mut flight = plain_record(0x16, &sh);
        flight.extend(plain_record(0x14, &[0x01])); // middlebox compatibility
        Sealer::new(&secrets[1]).seal(0x16, &[ee, server_fin].concat(), &mut flight);
        flow.send(cap, false, &flight);
        let mut flight = plain_record(0x14, &[0x01]);
        Sealer::new(&secrets[0]).seal(0x16, &client_fin, &mut flight);
        flow.send(cap, true, &flight);
        Ok(Tls {
            client: Sealer::new(&secrets[2]),
            server: Sealer::new(&secrets[3]),
        })
    }

    fn seal(&mut self, from_client: bool, data: &[u8]) -> Vec<u8> {
        let s = if from_client {
            &mut self.client
        } else {
            &mut self.server
        };
        let mut out = Vec::with_capacity(data.len() + data.len() / 16384 * 22 + 22);
        for chunk in data.chunks(16384) {
            s.seal(0x17, chunk, &mut out);
        }
        out
    }
}

/// Bytes `Flow::send` of `len` bytes adds to a capture: its records
/// (16-byte header, Ethernet, IP, 20-byte TCP, payload), 1400 bytes a segment.
fn plain_cost(v6: bool, len: usize) -> u64 {
    let segs = len.div_ceil(1400) as u64;
    segs * (16 + 14 + if v6 { 40 } else { 20 } + 20) + len as u64
}

/// One connection: its TCP flow and, under TLS, its record protection.
struct Conn {
    flow: synth::Flow,
    tls: Option<Tls>,
}

impl Conn {
    /// Sends `data` (plaintext) and returns what the plaintext capture grew by.
    fn send(&mut self, cap: &mut synth::Pcap, from_client: bool, data: &[u8]) -> u64 {
        match self.tls.as_mut() {
            Some(t) => {
                let wire = t.seal(from_client, data);
                self.flow.send(cap, from_client, &wire);
            }
            None => self.flow.send(cap, from_client, data),
        }
        plain_cost(self.flow.v6, data.len())
    }
}

/// Writes the mixed (or small) capture of about `target` bytes to `out`
/// (the size is that of the plaintext capture, with or without TLS; the
/// TLS capture is a little larger); with `keylog`, wrapped in TLS 1.3.
/// Returns the bytes written and the number of WebSocket frames.
pub fn generate(
    out: &mut dyn Write,
    target: u64,
    small: bool,
    mut keylog: Option<&mut dyn Write>,
) -> std::io::Result<(u64, u64)> {
    let mut cap = synth::Pcap::new();
    // What the plaintext capture holds so far (the loop stops on it).
    let mut plain = cap.bytes.len() as u64;
    let mut tls_rng = Rng(0x9e37_79b9_7f4a_7c15);
    // The upgrade, as synth::Flow::upgrade writes it.
    let req = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
               Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    let mut conns = Vec::with_capacity(CONNS as usize);
    for n in 0..CONNS {
        let mut flow = if n % 3 == 2 {
            synth::Flow::new_v6(n)
        } else {
            synth::Flow::new(n)
        };
        flow.open(&mut cap);
        plain += 2 * plain_cost(flow.v6, 1) - 2; // SYN, SYN-ACK: no payload
        let tls = match keylog.as_deref_mut() {
            Some(k) => Some(Tls::handshake(&mut flow, &mut cap, &mut tls_rng, k)?),
            None => None,
        };
        let mut c = Conn { flow, tls };
        plain += c.send(&mut cap, true, req.as_bytes());
        plain += c.send(&mut cap, false, resp.as_bytes());
        conns.push(c);
    }
    let mut written = 0u64;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut frames = 0u64;
    // Text payloads are cut from this (valid UTF-8 at every char boundary).
    let text: String = "WebSocket — frames, ping/pong, ünïcödé ✓ "
        .repeat(8000)
        .chars()
        .collect();
    let mut bytes = Vec::new();
    while plain <= target {
        let i = (rng.next() % u64::from(CONNS)) as usize;
        let from_client = rng.next().is_multiple_of(2);
        let r = rng.next();
        let key = (rng.next() as u32).to_be_bytes();
        let len = if small {
            2 + (r % 171) as usize
        } else {
            match r % 100 {
                0..=60 => (r >> 8) as usize % 126,
                61..=97 => 126 + (r >> 8) as usize % 6000,
                _ => 65536 + (r >> 8) as usize % 120_000,
            }
        };
        let is_text = (r >> 40).is_multiple_of(2);
        let payload: Vec<u8> = if is_text {
            let mut end = len.min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.as_bytes()[..end].to_vec()
        } else {
            (0..len)
                .map(|j| (j as u8).wrapping_mul(31) ^ (r as u8))
                .collect()
        };
        let op = if is_text { 0x1 } else { 0x2 };
        bytes.clear();
        if !small && r.is_multiple_of(17) && len > 10 {
            // A fragmented message with a ping between its fragments.
            let mut cut = len / 2;
            while is_text && !text.is_char_boundary(cut) {
                cut -= 1;
            }
            bytes.extend(synth::frame_keyed(from_client, op, &payload[..cut], key));
            bytes.extend(synth::frame_keyed(from_client, 0x89, b"ping", key));
            bytes.extend(synth::frame_keyed(from_client, 0x80, &payload[cut..], key));
            frames += 3;
        } else {
            bytes.extend(synth::frame_keyed(from_client, 0x80 | op, &payload, key));
            frames += 1;
        }
        plain += conns[i].send(&mut cap, from_client, &bytes);
        if cap.bytes.len() > 8 << 20 {
            written += cap.bytes.len() as u64;
            out.write_all(&cap.bytes)?;
            cap.bytes.clear();
        }
    }
    for c in conns.iter_mut() {
        c.send(&mut cap, true, &synth::frame(true, 0x88, &[0x03, 0xe8]));
        frames += 1;
    }
    written += cap.bytes.len() as u64;
    out.write_all(&cap.bytes)?;
    out.flush()?;
    Ok((written, frames))
}
