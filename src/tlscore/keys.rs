//! Key derivation: TLS 1.3 HKDF-Expand-Label (RFC 8446 section 7.1) and the
//! TLS 1.2 PRF (RFC 5246 section 5), over RustCrypto's hkdf, hmac and sha2.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha384};

/// The hash a suite's key schedule runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    Sha256,
    Sha384,
}

impl HashAlg {
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
        }
    }
}

/// The `HkdfLabel` structure: length, "tls13 " + label, context.
pub fn hkdf_label(label: &[u8], context: &[u8], len: u16) -> Vec<u8> {
    let mut info = Vec::with_capacity(4 + 6 + label.len() + context.len());
    info.extend_from_slice(&len.to_be_bytes());
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    info
}

/// HKDF-Expand-Label(secret, label, context, len). `None` when the secret
/// is shorter than the hash (not a pseudorandom key) or `len` is too long.
pub fn hkdf_expand_label(
    hash: HashAlg,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let info = hkdf_label(label, context, u16::try_from(len).ok()?);
    let mut out = vec![0u8; len];
    match hash {
        HashAlg::Sha256 => Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .ok()?,
        HashAlg::Sha384 => Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .ok()?,
    }
    Some(out)
}

/// Traffic key and IV of a TLS 1.3 traffic secret: both expanded from one
/// HMAC keyed once with the secret (keying costs two hash blocks, each
/// expansion two more).
pub fn tls13_key_iv(hash: HashAlg, secret: &[u8], key_len: usize) -> Option<(Vec<u8>, Vec<u8>)> {
    fn go<H: hmac::EagerHash>(secret: &[u8], key_len: usize) -> Option<(Vec<u8>, Vec<u8>)> {
        let prk = Hkdf::<H>::from_prk(secret).ok()?;
        let mut key = vec![0u8; key_len];
        let mut iv = vec![0u8; 12];
        prk.expand(
            &hkdf_label(b"key", b"", u16::try_from(key_len).ok()?),
            &mut key,
        )
        .ok()?;
        prk.expand(&hkdf_label(b"iv", b"", 12), &mut iv).ok()?;
        Some((key, iv))
    }
    match hash {
        HashAlg::Sha256 => go::<Sha256>(secret, key_len),
        HashAlg::Sha384 => go::<Sha384>(secret, key_len),
    }
}

/// The next generation of a TLS 1.3 traffic secret (after a KeyUpdate).
pub fn tls13_next_secret(hash: HashAlg, secret: &[u8]) -> Option<Vec<u8>> {
    hkdf_expand_label(hash, secret, b"traffic upd", b"", hash.output_len())
}

fn p_hash<M: Mac + KeyInit + Clone>(secret: &[u8], seed: &[u8], out: &mut [u8]) -> Option<()> {
    let base = <M as KeyInit>::new_from_slice(secret).ok()?;
    let mut a = {
        let mut m = base.clone();
        m.update(seed);
        m.finalize().into_bytes().to_vec()
    };
    let mut done = 0;
    while done < out.len() {
        let mut m = base.clone();
        m.update(&a);
        m.update(seed);
        let block = m.finalize().into_bytes();
        let n = block.len().min(out.len() - done);
        out[done..done + n].copy_from_slice(&block[..n]);
        done += n;
        let mut m = base.clone();
        m.update(&a);
        a = m.finalize().into_bytes().to_vec();
    }
    Some(())
}

/// The TLS 1.2 PRF: P_hash(secret, label + seed).
pub fn tls12_prf(
    hash: HashAlg,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let mut s = Vec::with_capacity(label.len() + seed.len());
    s.extend_from_slice(label);
    s.extend_from_slice(seed);
    let mut out = vec![0u8; len];
    match hash {
        HashAlg::Sha256 => p_hash::<Hmac<Sha256>>(secret, &s, &mut out)?,
        HashAlg::Sha384 => p_hash::<Hmac<Sha384>>(secret, &s, &mut out)?,
    }
    Some(out)
}

/// The TLS 1.2 key block: "key expansion" with server random + client random.
pub fn tls12_key_block(
    hash: HashAlg,
    master: &[u8],
    client_random: &[u8],
    server_random: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let mut seed = Vec::with_capacity(64);
    seed.extend_from_slice(server_random);
    seed.extend_from_slice(client_random);
    tls12_prf(hash, master, b"key expansion", &seed, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn hkdf_label_layout() {
        // RFC 8446 7.1: uint16 length, opaque label<7..255> = "tls13 " + Label, opaque context<0..255>.
        assert_eq!(
            hkdf_label(b"key", b"", 16),
            b"\x00\x10\x09tls13 key\x00".to_vec()
        );
    }

    #[test]
    fn key_and_iv_from_one_keying_are_the_labels_expansions() {
        // RFC 8448 section 3 (simple 1-RTT): the server handshake traffic
        // secret and the key and IV it gives.
        let secret = hex(
            "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38",
        );
        let (key, iv) = tls13_key_iv(HashAlg::Sha256, &secret, 16).unwrap();
        assert_eq!(key, hex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc"));
        assert_eq!(iv, hex("5d 31 3e b2 67 12 76 ee 13 00 0b 30"));
        // Every hash and key length: the same bytes as one HKDF-Expand-Label each.
        for (hash, len) in [
            (HashAlg::Sha256, 16),
            (HashAlg::Sha256, 32),
            (HashAlg::Sha384, 32),
        ] {
            let secret: Vec<u8> = (0..hash.output_len() as u8).collect();
            let (key, iv) = tls13_key_iv(hash, &secret, len).unwrap();
            assert_eq!(
                Some(key),
                hkdf_expand_label(hash, &secret, b"key", b"", len)
            );
            assert_eq!(Some(iv), hkdf_expand_label(hash, &secret, b"iv", b"", 12));
        }
        // A secret shorter than the hash is no pseudorandom key.
        assert_eq!(tls13_key_iv(HashAlg::Sha384, &[1; 32], 32), None);
    }

    #[test]
    fn tls12_prf_sha256_vector() {
        // The widely used TLS 1.2 PRF-SHA256 test vector (IETF TLS list, 2008).
        let secret = hex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = hex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let out = tls12_prf(HashAlg::Sha256, &secret, b"test label", &seed, 100).unwrap();
        let want = hex(
            "e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a
             6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab
             4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
             87 34 7b 66",
        );
        assert_eq!(out, want);
    }
}
