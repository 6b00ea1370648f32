//! Unmasking (RFC 6455 section 5.3), with the key phase carried across
//! TCP segments: byte `i` of the payload is XORed with `key[i % 4]`.

/// XORs `data` in place with `key`, where `data[0]` is payload byte number
/// `phase` (so `key[phase % 4]` applies to it). Word at a time.
pub fn unmask_in_place(data: &mut [u8], key: [u8; 4], phase: u64) {
    let k = rotated(key, phase);
    let word = u64::from_ne_bytes([k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3]]);
    let mut chunks = data.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let v = u64::from_ne_bytes(w) ^ word;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= k[i & 3];
    }
}

/// Appends `masked` to `out`, unmasked at `phase`.
pub fn unmask_into(masked: &[u8], key: [u8; 4], phase: u64, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(masked);
    unmask_in_place(&mut out[start..], key, phase);
}

fn rotated(key: [u8; 4], phase: u64) -> [u8; 4] {
    let r = (phase & 3) as usize;
    [key[r], key[(r + 1) & 3], key[(r + 2) & 3], key[(r + 3) & 3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn byte_loop(data: &[u8], key: [u8; 4], phase: u64) -> Vec<u8> {
        data.iter()
            .enumerate()
            .map(|(i, b)| b ^ key[((i as u64 + phase) % 4) as usize])
            .collect()
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
