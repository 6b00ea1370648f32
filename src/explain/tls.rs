//! The TLS layer of the walkthrough (issue 14): the hellos, the key log
//! line that matched, the key derivation step by step, and each
//! direction's first application record decrypted again here, from the
//! capture's own bytes, with the decryption core's functions
//! ([`crate::tlscore::keys`], [`crate::tlscore::decrypt`]): the nonce (IV
//! XOR sequence number, or the TLS 1.2 salt and explicit nonce), the
//! additional data, the tag (or MAC) checked, and the plaintext that goes
//! on to HTTP and WebSocket.
//!
//! Secrets are printed as the key log already holds them: the key log is
//! the user's own file, and this is for teaching.

use serde::Serialize;

use crate::findings::Dir;
use crate::tlscore::decrypt::{AeadAlg, AeadKey, MacAlg, RecordKeys};
use crate::tlscore::handshake::{cipher_name, text as hello_text, version_name};
use crate::tlscore::keys::{self, HashAlg};
use crate::tlscore::{SuiteInfo, TlsTeach, suite_info};

/// Plaintext bytes shown per record.
const PLAIN_SHOWN: usize = 512;

/// One derivation step: what was computed, from what, and the result.
#[derive(Debug, Clone, Serialize)]
pub struct StepEx {
    pub what: String,
    /// The function and its inputs, as a formula.
    pub how: String,
    /// The result, hex.
    pub hex: String,
}

/// A direction's first application record, decrypted step by step.
#[derive(Debug, Clone, Serialize)]
pub struct TlsRecordEx {
    pub from: Dir,
    pub packet: u64,
    /// The record sequence number it was opened with.
    pub seq: u64,
    /// The key log line used: its label, and the client random (shortened).
    pub keylog_label: &'static str,
    pub keylog_random: String,
    /// The secret from that line, hex (as in the key log).
    pub secret: String,
    pub steps: Vec<StepEx>,
    pub key: String,
    /// The IV (TLS 1.3, ChaCha20), the implicit salt (TLS 1.2 GCM/CCM), or
    /// none (CBC: the IV is the record's first block).
    pub iv: Option<String>,
    pub mac_key: Option<String>,
    /// The record header (type, version, length), hex.
    pub header: String,
    pub record_len: usize,
    /// TLS 1.2 GCM/CCM: the 8-byte explicit nonce at the record's start.
    pub explicit_nonce: Option<String>,
    /// The AEAD nonce (none for CBC).
    pub nonce: Option<String>,
    /// How the nonce was made, in words.
    pub nonce_how: String,
    /// The additional authenticated data, hex (AEAD suites).
    pub aad: Option<String>,
    /// The tag (AEAD) or MAC (CBC) at the record's end, hex.
    pub tag: String,
    pub tag_name: &'static str,
    /// Whether it verified when decrypted again here.
    pub tag_ok: bool,
    /// The content type inside (TLS 1.3: the inner type after the padding).
    pub content_type: Option<u8>,
    /// TLS 1.3: zero bytes of padding after the inner content type.
    pub padding: Option<usize>,
    pub plaintext_len: usize,
    /// The plaintext's first bytes, hex.
    pub plaintext_hex: String,
    /// The plaintext's first bytes as text (escaped).
    pub plaintext_text: String,
}

/// The TLS layer of one connection.
#[derive(Debug, Clone, Serialize)]
pub struct TlsEx {
    pub version: &'static str,
    pub cipher: String,
    pub cipher_id: u16,
    pub sni: Option<String>,
    pub alpn_offered: Vec<String>,
    pub alpn: Option<String>,
    pub client_hello_packet: Option<u64>,
    pub server_hello_packet: Option<u64>,
    pub client_random: String,
    pub server_random: String,
    /// TLS 1.2: extended master secret / encrypt-then-MAC negotiated.
    pub extended_master_secret: bool,
    pub encrypt_then_mac: bool,
    pub records: Vec<TlsRecordEx>,
    /// Why a record could not be walked through (an unsupported suite...).
    pub notes: Vec<String>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hash_name(h: HashAlg) -> &'static str {
    match h {
        HashAlg::Sha256 => "SHA-256",
        HashAlg::Sha384 => "SHA-384",
    }
}

fn mac_name(m: MacAlg) -> &'static str {
    match m {
        MacAlg::Sha1 => "HMAC-SHA1",
        MacAlg::Sha256 => "HMAC-SHA256",
        MacAlg::Sha384 => "HMAC-SHA384",
    }
}

/// The hello summary, from the first record taught.
pub fn tls_ex(t: &TlsTeach) -> TlsEx {
    let (ch, sh) = (&t.client_hello, &t.server_hello);
    TlsEx {
        version: version_name(sh.version).unwrap_or("?"),
        cipher: cipher_name(sh.cipher)
            .map_or_else(|| format!("0x{:04x}", sh.cipher), str::to_string),
        cipher_id: sh.cipher,
        sni: ch.sni.as_deref().map(hello_text),
        alpn_offered: ch.alpn.iter().map(|a| hello_text(a)).collect(),
        alpn: sh.alpn.as_deref().map(hello_text),
        client_hello_packet: t.hello_packets[0],
        server_hello_packet: t.hello_packets[1],
        client_random: hex(&ch.random),
        server_random: hex(&sh.random),
        extended_master_secret: sh.extended_master_secret,
        encrypt_then_mac: sh.encrypt_then_mac,
        records: Vec::new(),
        notes: Vec::new(),
    }
}

/// What opening the record again gave.
struct Opened {
    ok: bool,
    content_type: Option<u8>,
    padding: Option<usize>,
    plain: Vec<u8>,
}

/// `tls13_tag`: TLS 1.3, with the tag's length (to count the padding).
fn open_again(keys: &RecordKeys, t: &TlsTeach, tls13_tag: Option<usize>) -> Opened {
    let mut body = t.body.clone();
    match keys.open(&t.header, &mut body, t.seq) {
        Ok(op) => {
            let plain = body.get(op.start..op.end).unwrap_or_default().to_vec();
            // TLS 1.3: content, then the inner type, then zeros, then the tag.
            let padding =
                tls13_tag.map(|tl| body.len().saturating_sub(op.end).saturating_sub(1 + tl));
            Opened {
                ok: true,
                content_type: Some(op.content_type),
                padding,
                plain,
            }
        }
        Err(_) => Opened {
            ok: false,
            content_type: None,
            padding: None,
            plain: Vec::new(),
        },
    }
}

/// A direction's first application record, decrypted again step by step;
/// `Err` says why it cannot be.
pub fn record_ex(t: &TlsTeach) -> Result<TlsRecordEx, String> {
    let sh = &t.server_hello;
    let tls13 = sh.version == 0x0304;
    let info: SuiteInfo = suite_info(sh.version, sh.cipher).ok_or_else(|| {
        format!(
            "suite 0x{:04x} is not one explain can walk through",
            sh.cipher
        )
    })?;
    let random = hex(&t.client_hello.random);
    let short = format!("{}…{}", &random[..8], &random[random.len() - 8..]);
    let client = t.dir == Dir::Client;
    let mut steps = Vec::new();
    let body = &t.body;
    let rlen = body.len();
    if tls13 {
        let alg = info.aead.ok_or("a TLS 1.3 suite without an AEAD")?;
        let (label, secret) = if client {
            (
                "CLIENT_TRAFFIC_SECRET_0",
                t.secrets.client_traffic.as_deref(),
            )
        } else {
            (
                "SERVER_TRAFFIC_SECRET_0",
                t.secrets.server_traffic.as_deref(),
            )
        };
        let secret = secret.ok_or_else(|| format!("the key log has no {label}"))?;
        let kl = alg.key_len();
        let h = hash_name(info.hash);
        let key = keys::hkdf_expand_label(info.hash, secret, b"key", b"", kl)
            .ok_or("HKDF-Expand-Label failed for the key")?;
        let iv = keys::hkdf_expand_label(info.hash, secret, b"iv", b"", 12)
            .ok_or("HKDF-Expand-Label failed for the IV")?;
        steps.push(StepEx {
            what: format!("HkdfLabel for the key: length {kl}, label \"tls13 key\", empty context"),
            how: "struct { uint16 length; opaque label<7..255> = \"tls13 \" + Label; opaque context<0..255> } (RFC 8446 section 7.1)".into(),
            hex: hex(&keys::hkdf_label(b"key", b"", kl as u16)),
        });
        steps.push(StepEx {
            what: format!("write key = HKDF-Expand-Label(secret, \"key\", \"\", {kl})"),
            how: format!("HKDF-Expand with {h} (RFC 5869), the secret as the pseudorandom key, that HkdfLabel as info"),
            hex: hex(&key),
        });
        steps.push(StepEx {
            what: "HkdfLabel for the IV: length 12, label \"tls13 iv\", empty context".into(),
            how: "the same structure".into(),
            hex: hex(&keys::hkdf_label(b"iv", b"", 12)),
        });
        steps.push(StepEx {
            what: "write IV = HKDF-Expand-Label(secret, \"iv\", \"\", 12)".into(),
            how: format!("HKDF-Expand with {h}"),
            hex: hex(&iv),
        });
        let iv12: [u8; 12] = iv.clone().try_into().map_err(|_| "IV length")?;
        let nonce = crate::tlscore::decrypt::xor_nonce(&iv12, t.seq);
        let aead = AeadKey::new(alg, &key).ok_or("the AEAD refused the key")?;
        let tl = alg.tag_len();
        let o = open_again(&RecordKeys::Tls13 { aead, iv: iv12 }, t, Some(tl));
        Ok(TlsRecordEx {
            from: t.dir,
            packet: t.packet,
            seq: t.seq,
            keylog_label: label,
            keylog_random: short,
            secret: hex(secret),
            steps,
            key: hex(&key),
            iv: Some(hex(&iv)),
            mac_key: None,
            header: hex(&t.header),
            record_len: rlen,
            explicit_nonce: None,
            nonce: Some(hex(&nonce)),
            nonce_how: format!(
                "the IV XOR the record sequence number {} as 64 bits, right-aligned (RFC 8446 section 5.3)",
                t.seq
            ),
            aad: Some(hex(&t.header)),
            tag: hex(body.get(rlen.saturating_sub(tl)..).unwrap_or_default()),
            tag_name: "AEAD tag",
            tag_ok: o.ok,
            content_type: o.content_type,
            padding: o.padding,
            plaintext_len: o.plain.len(),
            plaintext_hex: hex(o
                .plain
                .get(..PLAIN_SHOWN.min(o.plain.len()))
                .unwrap_or_default()),
            plaintext_text: String::from_utf8_lossy(
                o.plain
                    .get(..PLAIN_SHOWN.min(o.plain.len()))
                    .unwrap_or_default(),
            )
            .into_owned(),
        })
    } else {
        let master = t
            .secrets
            .master_secret
            .as_deref()
            .ok_or("the key log has no CLIENT_RANDOM line for this connection")?;
        let h = hash_name(info.hash);
        let (cr, sr) = (&t.client_hello.random, &sh.random);
        let who = if client { "client" } else { "server" };
        let mut explicit = None;
        let (key, iv, mac_key, keys, nonce, nonce_how, aad, tag, tag_name);
        // The key block both kinds of cipher suite split, as a step.
        let key_block = |steps: &mut Vec<StepEx>, n: usize| -> Result<Vec<u8>, &'static str> {
            let kb = keys::tls12_key_block(info.hash, master, cr, sr, n).ok_or("the PRF failed")?;
            steps.push(StepEx {
                what: format!("key block = PRF(master secret, \"key expansion\", server random + client random), {n} bytes"),
                how: format!("P_{h}: HMAC-{h} chained over the label and seed (RFC 5246 section 5)"),
                hex: hex(&kb),
            });
            Ok(kb)
        };
        match (info.aead, info.cbc) {
            (Some(alg), _) => {
                let kl = alg.key_len();
                let ivl = if alg == AeadAlg::ChaCha20Poly1305 {
                    12
                } else {
                    4
                };
                let n = 2 * kl + 2 * ivl;
                let kb = key_block(&mut steps, n)?;
                let part = |a: usize, l: usize| kb.get(a..a + l).unwrap_or_default().to_vec();
                let (ko, io) = if client {
                    (0, 2 * kl)
                } else {
                    (kl, 2 * kl + ivl)
                };
                steps.push(StepEx {
                    what: format!("split: client key {kl}, server key {kl}, client IV {ivl}, server IV {ivl} bytes; the {who}'s"),
                    how: "no MAC keys: an AEAD authenticates (RFC 5246 section 6.3)".into(),
                    hex: format!("key {} · IV {}", hex(&part(ko, kl)), hex(&part(io, ivl))),
                });
                key = part(ko, kl);
                iv = part(io, ivl);
                mac_key = None;
                let aead = AeadKey::new(alg, &key).ok_or("the AEAD refused the key")?;
                let len = rlen.saturating_sub(alg.tag_len());
                if ivl == 12 {
                    let iv12: [u8; 12] = iv.clone().try_into().map_err(|_| "IV length")?;
                    nonce = Some(hex(&crate::tlscore::decrypt::xor_nonce(&iv12, t.seq)));
                    nonce_how = format!(
                        "the IV XOR the record sequence number {} (RFC 7905 section 2)",
                        t.seq
                    );
                    keys = RecordKeys::Tls12Chacha { aead, iv: iv12 };
                    aad = Some(aad12(t.seq, &t.header, len));
                } else {
                    let e = body.get(..8).unwrap_or_default();
                    explicit = Some(hex(e));
                    nonce = Some(format!("{}{}", hex(&iv), hex(e)));
                    nonce_how = "the 4-byte implicit salt from the key block, then the 8-byte explicit nonce the record carries first (RFC 5288 section 3)".into();
                    let salt: [u8; 4] = iv.clone().try_into().map_err(|_| "salt length")?;
                    keys = RecordKeys::Tls12Explicit { aead, salt };
                    aad = Some(aad12(t.seq, &t.header, len.saturating_sub(8)));
                }
                tag = hex(body
                    .get(rlen.saturating_sub(alg.tag_len())..)
                    .unwrap_or_default());
                tag_name = "AEAD tag";
            }
            (None, Some((kl, mac))) => {
                let ml = mac.output_len();
                let n = 2 * ml + 2 * kl;
                let kb = key_block(&mut steps, n)?;
                let part = |a: usize, l: usize| kb.get(a..a + l).unwrap_or_default().to_vec();
                let (mo, ko) = if client {
                    (0, 2 * ml)
                } else {
                    (ml, 2 * ml + kl)
                };
                steps.push(StepEx {
                    what: format!("split: client MAC key {ml}, server MAC key {ml}, client key {kl}, server key {kl} bytes; the {who}'s"),
                    how: "each record carries its own IV (its first 16 bytes), so the key block has none (RFC 5246 section 6.2.3.2)".into(),
                    hex: format!("MAC key {} · key {}", hex(&part(mo, ml)), hex(&part(ko, kl))),
                });
                key = part(ko, kl);
                mac_key = Some(hex(&part(mo, ml)));
                iv = Vec::new();
                nonce = None;
                nonce_how = format!(
                    "AES-CBC: the IV is the record's first block {}; the MAC covers sequence number {}, the header and the {}",
                    hex(body.get(..16).unwrap_or_default()),
                    t.seq,
                    if sh.encrypt_then_mac {
                        "ciphertext (encrypt-then-MAC, RFC 7366)"
                    } else {
                        "plaintext (MAC-then-encrypt)"
                    }
                );
                aad = None;
                keys = RecordKeys::Tls12Cbc {
                    key: key.clone(),
                    mac,
                    mac_key: part(mo, ml),
                    etm: sh.encrypt_then_mac,
                };
                tag = if sh.encrypt_then_mac {
                    hex(body.get(rlen.saturating_sub(ml)..).unwrap_or_default())
                } else {
                    "(inside the encryption: checked after decrypting)".into()
                };
                tag_name = mac_name(mac);
            }
            _ => return Err("an unknown protection".into()),
        }
        let o = open_again(&keys, t, None);
        Ok(TlsRecordEx {
            from: t.dir,
            packet: t.packet,
            seq: t.seq,
            keylog_label: "CLIENT_RANDOM",
            keylog_random: short,
            secret: hex(master),
            steps,
            key: hex(&key),
            iv: (!iv.is_empty()).then(|| hex(&iv)),
            mac_key,
            header: hex(&t.header),
            record_len: rlen,
            explicit_nonce: explicit,
            nonce,
            nonce_how,
            aad,
            tag,
            tag_name,
            tag_ok: o.ok,
            content_type: o.content_type,
            padding: None,
            plaintext_len: o.plain.len(),
            plaintext_hex: hex(o
                .plain
                .get(..PLAIN_SHOWN.min(o.plain.len()))
                .unwrap_or_default()),
            plaintext_text: String::from_utf8_lossy(
                o.plain
                    .get(..PLAIN_SHOWN.min(o.plain.len()))
                    .unwrap_or_default(),
            )
            .into_owned(),
        })
    }
}

/// TLS 1.2 AEAD additional data: seq_num + type + version + length (of the plaintext).
fn aad12(seq: u64, header: &[u8; 5], len: usize) -> String {
    let mut a = seq.to_be_bytes().to_vec();
    a.extend_from_slice(&header[..3]);
    a.extend_from_slice(&(len as u16).to_be_bytes());
    hex(&a)
}

/// The hash's name for the text.
pub fn suite_hash(t: &TlsEx) -> &'static str {
    let v = if t.version == "1.3" { 0x0304 } else { 0x0303 };
    suite_info(v, t.cipher_id).map_or("?", |i| hash_name(i.hash))
}

/// Hex in groups of `n` bytes, for reading aloud.
fn spaced(h: &str) -> String {
    let b = h.as_bytes();
    b.chunks(8)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn dir_words(d: Dir) -> &'static str {
    match d {
        Dir::Client => "client → server",
        Dir::Server => "server → client",
    }
}

/// The TLS section, as text.
pub fn text(out: &mut String, t: &TlsEx) {
    use super::text::{term, wrapped};
    use std::fmt::Write as _;
    let at = |p: Option<u64>| p.map_or("not captured".to_string(), |p| format!("packet #{p}"));
    let _ = writeln!(out, "   ClientHello, {}:", at(t.client_hello_packet));
    let _ = writeln!(out, "     client random   {}", spaced(&t.client_random));
    if let Some(s) = &t.sni {
        let _ = writeln!(
            out,
            "     server name     {}   (SNI: which site the client wants)",
            term(s)
        );
    }
    if !t.alpn_offered.is_empty() {
        let _ = writeln!(
            out,
            "     ALPN offered    {}",
            term(&t.alpn_offered.join(", "))
        );
    }
    let _ = writeln!(out, "   ServerHello, {}:", at(t.server_hello_packet));
    let _ = writeln!(out, "     server random   {}", spaced(&t.server_random));
    let _ = writeln!(out, "     version         TLS {}", t.version);
    let _ = writeln!(
        out,
        "     cipher suite    {} (0x{:04x}), hash {}",
        term(&t.cipher),
        t.cipher_id,
        suite_hash(t)
    );
    if let Some(a) = &t.alpn {
        let _ = writeln!(out, "     ALPN chosen     {}", term(a));
    }
    if t.version == "1.3" {
        wrapped(
            out,
            "   ",
            3,
            "In TLS 1.3 everything after the ServerHello is encrypted, the certificate too; the key log holds each direction's traffic secret, written by the client or server that computed it from the key exchange.",
        );
    } else {
        wrapped(
            out,
            "   ",
            3,
            "In TLS 1.2 the key log holds the master secret (line CLIENT_RANDOM); both directions' keys come from it, the client random and the server random, whatever the key exchange was.",
        );
    }
    wrapped(
        out,
        "   ",
        3,
        "The secrets below are printed as the key log already holds them: it is your own file, and this walkthrough is for teaching. Do not share a key log of traffic that matters.",
    );
    for n in &t.notes {
        wrapped(out, "   ✗ ", 5, &term(n));
    }
    for r in &t.records {
        let _ = writeln!(
            out,
            "\n   The first application record, {}, packet #{} (record sequence number {}):",
            dir_words(r.from),
            r.packet,
            r.seq
        );
        let _ = writeln!(
            out,
            "     key log line    {} {} <secret>",
            r.keylog_label, r.keylog_random
        );
        if r.seq > 0 {
            wrapped(
                out,
                "                     ",
                21,
                &format!(
                    "(records 0 to {} under these keys carried handshake messages, such as NewSessionTicket or Finished, not application data)",
                    r.seq - 1
                ),
            );
        }
        let _ = writeln!(out, "     secret          {}", spaced(&r.secret));
        for s in &r.steps {
            wrapped(out, "     • ", 7, &s.what);
            wrapped(out, "       ", 7, &format!("({})", s.how));
            wrapped(out, "       = ", 9, &s.hex);
        }
        let _ = writeln!(out, "     key             {}", spaced(&r.key));
        if let Some(iv) = &r.iv {
            let _ = writeln!(out, "     IV              {}", spaced(iv));
        }
        if let Some(m) = &r.mac_key {
            let _ = writeln!(out, "     MAC key         {}", spaced(m));
        }
        let _ = writeln!(
            out,
            "     record header   {}   ({} bytes of protected content follow)",
            spaced(&r.header),
            r.record_len
        );
        if let Some(e) = &r.explicit_nonce {
            let _ = writeln!(out, "     explicit nonce  {e}");
        }
        if let Some(n) = &r.nonce {
            let _ = writeln!(out, "     nonce           {}", spaced(n));
        }
        wrapped(out, "                     ", 21, &r.nonce_how);
        if let Some(a) = &r.aad {
            let _ = writeln!(out, "     additional data {}", spaced(a));
        }
        let _ = writeln!(out, "     {:<15} {}", r.tag_name, spaced(&r.tag));
        if r.tag_ok {
            let _ = writeln!(
                out,
                "     ✓ decrypted and authenticated again here: the {} checks out",
                r.tag_name
            );
        } else {
            let _ = writeln!(out, "     ✗ did not authenticate when decrypted again here");
        }
        if let Some(ct) = r.content_type {
            let pad = r.padding.map_or(String::new(), |p| {
                format!(", then {p} bytes of zero padding")
            });
            let _ = writeln!(out, "     content type    {ct} (application data){pad}");
        }
        let _ = writeln!(
            out,
            "     plaintext       {} bytes; they go on to the HTTP and WebSocket layers below:",
            r.plaintext_len
        );
        for l in r.plaintext_text.lines().take(12) {
            let _ = writeln!(out, "       {}", term(l.trim_end_matches('\r')));
        }
    }
}

/// The TLS section, as HTML.
pub fn html(out: &mut String, t: &TlsEx) {
    use crate::render::xml_escape as esc;
    use std::fmt::Write as _;
    out.push_str("<h2 id=\"tls\">The TLS layer</h2>\n<table class=\"accept\">");
    let mut row = |k: &str, v: &str| {
        let _ = write!(
            out,
            "<tr><th>{}</th><td class=\"mono\" style=\"overflow-wrap:anywhere\">{}</td></tr>",
            esc(k),
            esc(v)
        );
    };
    let at = |p: Option<u64>| p.map_or("not captured".to_string(), |p| format!("packet #{p}"));
    row("ClientHello", &at(t.client_hello_packet));
    row("client random", &t.client_random);
    row("server name (SNI)", t.sni.as_deref().unwrap_or("(none)"));
    row("ALPN offered", &t.alpn_offered.join(", "));
    row("ServerHello", &at(t.server_hello_packet));
    row("server random", &t.server_random);
    row("version", &format!("TLS {}", t.version));
    row(
        "cipher suite",
        &format!(
            "{} (0x{:04x}), hash {}",
            t.cipher,
            t.cipher_id,
            suite_hash(t)
        ),
    );
    row("ALPN chosen", t.alpn.as_deref().unwrap_or("(none)"));
    out.push_str("</table>\n<p class=\"meaning\">The secrets below are printed as the key log already holds them: it is your own file, and this page is for teaching.</p>\n");
    for n in &t.notes {
        let _ = writeln!(out, "<p class=\"bad\">{}</p>", esc(n));
    }
    for r in &t.records {
        let _ = writeln!(
            out,
            "<h3>The first application record, {}, packet #{} (sequence number {})</h3><table class=\"accept\">",
            dir_words(r.from),
            r.packet,
            r.seq
        );
        let mut row = |k: &str, v: &str| {
            let _ = write!(
                out,
                "<tr><th>{}</th><td class=\"mono\" style=\"overflow-wrap:anywhere\">{}</td></tr>",
                esc(k),
                esc(v)
            );
        };
        row(
            "key log line",
            &format!("{} {} <secret>", r.keylog_label, r.keylog_random),
        );
        row("secret", &r.secret);
        for s in &r.steps {
            row(&s.what, &format!("{} = {}", s.how, s.hex));
        }
        row("key", &r.key);
        if let Some(iv) = &r.iv {
            row("IV", iv);
        }
        if let Some(m) = &r.mac_key {
            row("MAC key", m);
        }
        row("record header", &r.header);
        if let Some(e) = &r.explicit_nonce {
            row("explicit nonce", e);
        }
        row(
            "nonce",
            &format!("{} ({})", r.nonce.as_deref().unwrap_or("-"), r.nonce_how),
        );
        if let Some(a) = &r.aad {
            row("additional data", a);
        }
        row(r.tag_name, &r.tag);
        row("plaintext", &r.plaintext_text);
        let (class, v) = if r.tag_ok {
            (
                "ok",
                format!(
                    "decrypted and authenticated again here: the {} checks out; {} bytes of plaintext go on to HTTP and WebSocket",
                    r.tag_name, r.plaintext_len
                ),
            )
        } else {
            (
                "bad",
                "did not authenticate when decrypted again here".to_string(),
            )
        };
        let _ = writeln!(out, "</table><p class=\"{class}\">{}</p>", esc(&v));
    }
}
