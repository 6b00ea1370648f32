//! Record protection: opening one TLS record with the keys of one direction.
//!
//! TLS 1.3 (RFC 8446 section 5.2): AEAD with nonce = IV XOR sequence number,
//! the record header as additional data, inner content type after the
//! content and zero padding. TLS 1.2: AES-GCM with an explicit nonce
//! (RFC 5288), ChaCha20-Poly1305 (RFC 7905), and AES-CBC with HMAC, either
//! MAC-then-encrypt (RFC 5246 6.2.3.2) or encrypt_then_mac (RFC 7366).

use aes_gcm::aead::consts::{U8, U12, U16};
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384};

type Aes128Ccm = ccm::Ccm<aes::Aes128, U16, U12>;
type Aes128Ccm8 = ccm::Ccm<aes::Aes128, U8, U12>;

/// An AEAD algorithm with its key.
pub enum AeadKey {
    Aes128Gcm(Box<Aes128Gcm>),
    Aes256Gcm(Box<Aes256Gcm>),
    ChaCha20Poly1305(Box<ChaCha20Poly1305>),
    Aes128Ccm(Box<Aes128Ccm>),
    Aes128Ccm8(Box<Aes128Ccm8>),
}

/// The AEAD algorithms we open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AeadAlg {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
    Aes128Ccm,
    Aes128Ccm8,
}

impl AeadAlg {
    pub fn key_len(self) -> usize {
        match self {
            AeadAlg::Aes256Gcm | AeadAlg::ChaCha20Poly1305 => 32,
            _ => 16,
        }
    }
    pub fn tag_len(self) -> usize {
        match self {
            AeadAlg::Aes128Ccm8 => 8,
            _ => 16,
        }
    }
}

fn open_with<A: AeadInOut>(
    a: &A,
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8],
) -> bool {
    let (Ok(n), Ok(t)) = (
        aes_gcm::aead::Nonce::<A>::try_from(&nonce[..]),
        aes_gcm::aead::Tag::<A>::try_from(tag),
    ) else {
        return false;
    };
    a.decrypt_inout_detached(&n, aad, buf.into(), &t).is_ok()
}

impl AeadKey {
    pub fn new(alg: AeadAlg, key: &[u8]) -> Option<AeadKey> {
        Some(match alg {
            AeadAlg::Aes128Gcm => {
                AeadKey::Aes128Gcm(Box::new(Aes128Gcm::new_from_slice(key).ok()?))
            }
            AeadAlg::Aes256Gcm => {
                AeadKey::Aes256Gcm(Box::new(Aes256Gcm::new_from_slice(key).ok()?))
            }
            AeadAlg::ChaCha20Poly1305 => {
                AeadKey::ChaCha20Poly1305(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?))
            }
            AeadAlg::Aes128Ccm => {
                AeadKey::Aes128Ccm(Box::new(Aes128Ccm::new_from_slice(key).ok()?))
            }
            AeadAlg::Aes128Ccm8 => {
                AeadKey::Aes128Ccm8(Box::new(Aes128Ccm8::new_from_slice(key).ok()?))
            }
        })
    }

    fn tag_len(&self) -> usize {
        match self {
            AeadKey::Aes128Ccm8(_) => 8,
            _ => 16,
        }
    }

    /// Opens `buf` (ciphertext followed by the tag) in place; on success
    /// returns the plaintext length (the tag is left after it).
    pub fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Option<usize> {
        let n = buf.len().checked_sub(self.tag_len())?;
        let (ct, tag) = buf.split_at_mut(n);
        let ok = match self {
            AeadKey::Aes128Gcm(a) => open_with(a.as_ref(), nonce, aad, ct, tag),
            AeadKey::Aes256Gcm(a) => open_with(a.as_ref(), nonce, aad, ct, tag),
            AeadKey::ChaCha20Poly1305(a) => open_with(a.as_ref(), nonce, aad, ct, tag),
            AeadKey::Aes128Ccm(a) => open_with(a.as_ref(), nonce, aad, ct, tag),
            AeadKey::Aes128Ccm8(a) => open_with(a.as_ref(), nonce, aad, ct, tag),
        };
        ok.then_some(n)
    }
}

/// The per-record nonce: the IV XOR the 64-bit sequence number, right-aligned.
pub fn xor_nonce(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut n = *iv;
    for (b, s) in n[4..].iter_mut().zip(seq.to_be_bytes()) {
        *b ^= s;
    }
    n
}

/// HMAC algorithm of a CBC suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacAlg {
    Sha1,
    Sha256,
    Sha384,
}

impl MacAlg {
    pub fn output_len(self) -> usize {
        match self {
            MacAlg::Sha1 => 20,
            MacAlg::Sha256 => 32,
            MacAlg::Sha384 => 48,
        }
    }

    fn verify(self, key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
        fn go<M: Mac + hmac::KeyInit>(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
            let Ok(mut m) = <M as hmac::KeyInit>::new_from_slice(key) else {
                return false;
            };
            for p in parts {
                m.update(p);
            }
            m.verify_slice(tag).is_ok()
        }
        match self {
            MacAlg::Sha1 => go::<Hmac<Sha1>>(key, parts, tag),
            MacAlg::Sha256 => go::<Hmac<Sha256>>(key, parts, tag),
            MacAlg::Sha384 => go::<Hmac<Sha384>>(key, parts, tag),
        }
    }
}

/// How one direction's records are protected, with its keys.
pub enum RecordKeys {
    /// TLS 1.3: any AEAD, IV from HKDF.
    Tls13 { aead: AeadKey, iv: [u8; 12] },
    /// TLS 1.2 AES-GCM/CCM: 4-byte implicit salt, 8-byte explicit nonce in the record.
    Tls12Explicit { aead: AeadKey, salt: [u8; 4] },
    /// TLS 1.2 ChaCha20-Poly1305: IV XOR sequence number, as TLS 1.3.
    Tls12Chacha { aead: AeadKey, iv: [u8; 12] },
    /// TLS 1.2 AES-CBC with HMAC.
    Tls12Cbc {
        key: Vec<u8>,
        mac: MacAlg,
        mac_key: Vec<u8>,
        etm: bool,
    },
}

/// Why a record did not open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// The tag or MAC did not verify, or padding was wrong.
    Auth,
    /// Too short or not a whole number of blocks for the cipher.
    Length,
}

/// An opened record: the content type and the plaintext's range in the buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    pub content_type: u8,
    pub start: usize,
    pub end: usize,
}

fn cbc_decrypt(key: &[u8], iv: &[u8], data: &mut [u8]) -> bool {
    match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .ok()
            .and_then(|d| d.decrypt_padded::<NoPadding>(data).ok())
            .is_some(),
        32 => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .ok()
            .and_then(|d| d.decrypt_padded::<NoPadding>(data).ok())
            .is_some(),
        _ => false,
    }
}

/// Checks TLS CBC padding at the end of `data`; returns the length before it.
fn strip_cbc_padding(data: &[u8]) -> Option<usize> {
    let pad = *data.last()? as usize;
    let body = data.len().checked_sub(pad + 1)?;
    data[body..data.len() - 1]
        .iter()
        .all(|&b| b as usize == pad)
        .then_some(body)
}

impl RecordKeys {
    /// Opens one record in place: `header` is its 5-byte header as sent,
    /// `body` its fragment, `seq` this direction's sequence number.
    pub fn open(&self, header: &[u8; 5], body: &mut [u8], seq: u64) -> Result<Opened, OpenError> {
        let seq_b = seq.to_be_bytes();
        let aad12 = |len: usize| {
            let mut a = [0u8; 13];
            a[..8].copy_from_slice(&seq_b);
            a[8..11].copy_from_slice(&header[..3]);
            a[11..].copy_from_slice(&(len as u16).to_be_bytes());
            a
        };
        match self {
            RecordKeys::Tls13 { aead, iv } => {
                let n = aead
                    .open(&xor_nonce(iv, seq), header, body)
                    .ok_or(OpenError::Auth)?;
                // Inner plaintext: content, content type, zero padding.
                let end = body[..n]
                    .iter()
                    .rposition(|&b| b != 0)
                    .ok_or(OpenError::Auth)?;
                Ok(Opened {
                    content_type: body[end],
                    start: 0,
                    end,
                })
            }
            RecordKeys::Tls12Explicit { aead, salt } => {
                let tag = aead.tag_len();
                if body.len() < 8 + tag {
                    return Err(OpenError::Length);
                }
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(salt);
                nonce[4..].copy_from_slice(&body[..8]);
                let aad = aad12(body.len() - 8 - tag);
                let n = aead
                    .open(&nonce, &aad, &mut body[8..])
                    .ok_or(OpenError::Auth)?;
                Ok(Opened {
                    content_type: header[0],
                    start: 8,
                    end: 8 + n,
                })
            }
            RecordKeys::Tls12Chacha { aead, iv } => {
                let len = body.len().checked_sub(16).ok_or(OpenError::Length)?;
                let aad = aad12(len);
                let n = aead
                    .open(&xor_nonce(iv, seq), &aad, body)
                    .ok_or(OpenError::Auth)?;
                Ok(Opened {
                    content_type: header[0],
                    start: 0,
                    end: n,
                })
            }
            RecordKeys::Tls12Cbc {
                key,
                mac,
                mac_key,
                etm,
            } => {
                let ml = mac.output_len();
                if *etm {
                    // IV || ciphertext || MAC, the MAC over the encrypted part.
                    let ct_len = body.len().checked_sub(ml).ok_or(OpenError::Length)?;
                    if ct_len < 32 || !ct_len.is_multiple_of(16) {
                        return Err(OpenError::Length);
                    }
                    let (ct, tag) = body.split_at_mut(ct_len);
                    let aad = aad12(ct_len);
                    if !mac.verify(mac_key, &[&aad, ct], tag) {
                        return Err(OpenError::Auth);
                    }
                    let (iv, data) = ct.split_at_mut(16);
                    if !cbc_decrypt(key, iv, data) {
                        return Err(OpenError::Length);
                    }
                    let n = strip_cbc_padding(data).ok_or(OpenError::Auth)?;
                    Ok(Opened {
                        content_type: header[0],
                        start: 16,
                        end: 16 + n,
                    })
                } else {
                    // IV || E(content || MAC || padding).
                    if body.len() < 32 || !body.len().is_multiple_of(16) {
                        return Err(OpenError::Length);
                    }
                    let (iv, data) = body.split_at_mut(16);
                    if !cbc_decrypt(key, iv, data) {
                        return Err(OpenError::Length);
                    }
                    let n = strip_cbc_padding(data).ok_or(OpenError::Auth)?;
                    let content = n.checked_sub(ml).ok_or(OpenError::Auth)?;
                    let aad = aad12(content);
                    if !mac.verify(mac_key, &[&aad, &data[..content]], &data[content..n]) {
                        return Err(OpenError::Auth);
                    }
                    Ok(Opened {
                        content_type: header[0],
                        start: 16,
                        end: 16 + content,
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_xors_the_sequence_number_into_the_low_bytes() {
        let iv = [0xffu8; 12];
        let n = xor_nonce(&iv, 0x0102);
        assert_eq!(&n[..10], &[0xff; 10]);
        assert_eq!(&n[10..], &[0xfe, 0xfd]);
    }

    #[test]
    fn cbc_padding_is_checked() {
        assert_eq!(strip_cbc_padding(&[7, 7, 2, 2, 2]), Some(2));
        assert_eq!(strip_cbc_padding(&[7, 7, 3, 2, 2]), None);
        assert_eq!(strip_cbc_padding(&[0]), Some(0));
        assert_eq!(strip_cbc_padding(&[9]), None);
    }
}
