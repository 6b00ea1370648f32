//! Unmasking (RFC 6455 section 5.3), with the key phase carried across
//! TCP segments: byte `i` of the payload is XORed with `key[i % 4]`.
#![deny(clippy::indexing_slicing, clippy::cast_possible_truncation)]
#![warn(missing_docs)]

/// XORs `data` in place with `key`, where `data[0]` is payload byte number
/// `phase` (so `key[phase % 4]` applies to it). 32 bytes at a time (the
/// compiler makes vector XORs of it), then a word, then bytes.
pub fn unmask_in_place(data: &mut [u8], key: [u8; 4], phase: u64) {
    let k = rotated(key, phase);
    let [k0, k1, k2, k3] = k;
    let word = u64::from_ne_bytes([k0, k1, k2, k3, k0, k1, k2, k3]);
    let mut wide = data.chunks_exact_mut(32);
    for c in &mut wide {
        // Four words of a fixed-size block: one or two vector XORs.
        for w in c.chunks_exact_mut(8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            w.copy_from_slice(&(u64::from_ne_bytes(b) ^ word).to_ne_bytes());
        }
    }
    // Every chunk is a multiple of 4 bytes long, so the key phase is still 0.
    let mut chunks = wide.into_remainder().chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let v = u64::from_ne_bytes(w) ^ word;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (b, kb) in chunks.into_remainder().iter_mut().zip(k.iter().cycle()) {
        *b ^= kb;
    }
}

/// Appends `masked` to `out`, unmasked at `phase`.
pub fn unmask_into(masked: &[u8], key: [u8; 4], phase: u64, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(masked);
    if let Some(tail) = out.get_mut(start..) {
        unmask_in_place(tail, key, phase);
    }
}

/// The key as it applies from payload byte `phase` on: `key[phase % 4]` first.
fn rotated(key: [u8; 4], phase: u64) -> [u8; 4] {
    // Only the low two bits of the phase matter; the last big-endian byte
    // holds them, so no cast truncates.
    let [.., low] = phase.to_be_bytes();
    // Big-endian, `key[0]` is the top byte: rotating left by `r` bytes
    // brings `key[r]` to the front.
    u32::from_be_bytes(key)
        .rotate_left(8 * u32::from(low & 3))
        .to_be_bytes()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn byte_loop(data: &[u8], key: [u8; 4], phase: u64) -> Vec<u8> {
        data.iter()
            .enumerate()
            .map(|(i, b)| b ^ key[((i as u64 + phase) % 4) as usize])
            .collect()
    }

    #[test]
    fn rotation_follows_the_phase_modulo_four() {
        let key = [0x10, 0x21, 0x32, 0x43];
        for phase in (0..16u64).chain([u64::MAX - 4, u64::MAX - 1, u64::MAX]) {
            let want: Vec<u8> = (0..4u64)
                .map(|i| key[((phase % 4 + i) % 4) as usize])
                .collect();
            assert_eq!(rotated(key, phase).to_vec(), want, "phase {phase}");
        }
    }

    #[test]
    fn rfc_hello() {
        let mut d = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        unmask_in_place(&mut d, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&d, b"Hello");
    }

    #[test]
    fn word_path_matches_byte_loop_for_every_length_alignment_and_phase() {
        let key = [0xa1, 0x02, 0xf3, 0x7c];
        let data: Vec<u8> = (0..80u32).map(|i| (i * 37 + 11) as u8).collect();
        for start in 0..8 {
            for len in 0..(data.len() - start) {
                for phase in 0..5u64 {
                    let src = &data[start..start + len];
                    let mut got = src.to_vec();
                    unmask_in_place(&mut got, key, phase);
                    assert_eq!(
                        got,
                        byte_loop(src, key, phase),
                        "start {start} len {len} phase {phase}"
                    );
                    // Unmasking twice is the identity.
                    unmask_in_place(&mut got, key, phase);
                    assert_eq!(got, src);
                }
            }
        }
    }

    #[test]
    fn split_unmasking_equals_whole() {
        let key = [1, 2, 3, 4];
        let data: Vec<u8> = (0..50u8).collect();
        let whole = byte_loop(&data, key, 0);
        for cut in 0..data.len() {
            let mut out = Vec::new();
            unmask_into(&data[..cut], key, 0, &mut out);
            unmask_into(&data[cut..], key, cut as u64, &mut out);
            assert_eq!(out, whole);
        }
    }
}
