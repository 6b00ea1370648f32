//! How fast the AEAD crates open records on this machine, alone: the floor
//! under the cost of `check` on a TLS capture (docs/performance.md, "Step:
//! TLS").
//!
//! Usage: cargo run --release --example aead_speed -- [MIB] [RECORD_BYTES]
//!
//! Seals one record of RECORD_BYTES (default 16,384, TLS's largest) with
//! TLS_AES_128_GCM_SHA256's AEAD, then opens it again and again until MIB
//! (default 1024) of ciphertext has been opened: with aes-gcm directly, and
//! through the decryption core's `RecordKeys::open` (TLS 1.3 nonce and
//! additional data, inner content type), each after copying the sealed
//! record into the buffer it opens in place. Prints wall and user time and
//! MB/s of user time, and which x86 features the CPU has (the crates choose
//! AES-NI and CLMUL at run time; VAES is not used without a `--cfg`).

use std::time::Instant;

use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use wsdissect::tlscore::decrypt::{AeadAlg, AeadKey, RecordKeys};

fn user_seconds() -> f64 {
    // SAFETY: an all-zero rusage is a valid value; getrusage fills it in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer to a rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru.ru_utime.tv_sec as f64 + ru.ru_utime.tv_usec as f64 / 1e6
}

fn timed(what: &str, bytes: usize, mut f: impl FnMut() -> usize) {
    let (t, u) = (Instant::now(), user_seconds());
    let ok = f();
    let (wall, user) = (t.elapsed().as_secs_f64(), user_seconds() - u);
    println!(
        "{what:<44} {wall:>7.3} s wall {user:>7.3} s user {:>6.0} MB/s of user time ({ok} opened)",
        bytes as f64 / user.max(1e-9) / 1e6
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mib: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1024);
    let rec: usize = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(16384)
        .clamp(1, 16384);
    #[cfg(target_arch = "x86_64")]
    println!(
        "cpu: aes {} pclmulqdq {} vaes {} vpclmulqdq {} avx512f {} sha {}",
        std::is_x86_feature_detected!("aes"),
        std::is_x86_feature_detected!("pclmulqdq"),
        std::is_x86_feature_detected!("vaes"),
        std::is_x86_feature_detected!("vpclmulqdq"),
        std::is_x86_feature_detected!("avx512f"),
        std::is_x86_feature_detected!("sha"),
    );
    let n = (mib << 20) / rec;
    let bytes = n * rec;
    let key = [7u8; 16];
    let iv = [9u8; 12];

    // One TLS 1.3 record: content, inner content type 23, header as AAD.
    let mut inner = vec![b'x'; rec - 1];
    inner.push(23);
    let total = inner.len() + 16;
    let header = [23, 3, 3, (total >> 8) as u8, total as u8];
    let aead = Aes128Gcm::new_from_slice(&key).expect("16-byte key");
    let nonce = aes_gcm::Nonce::try_from(&iv[..]).expect("12-byte nonce");
    let tag = aead
        .encrypt_inout_detached(&nonce, &header, (&mut inner[..]).into())
        .expect("record within limits");
    let mut sealed = inner.clone();
    sealed.extend_from_slice(&tag);
    println!("{mib} MiB as {n} records of {rec} bytes");

    let mut buf = vec![0u8; rec];
    timed("aes-gcm decrypt_inout_detached", bytes, || {
        let mut ok = 0;
        for _ in 0..n {
            buf.copy_from_slice(&sealed[..rec]);
            ok += aead
                .decrypt_inout_detached(&nonce, &header, (&mut buf[..]).into(), &tag)
                .is_ok() as usize;
        }
        ok
    });

    let keys = RecordKeys::Tls13 {
        aead: AeadKey::new(AeadAlg::Aes128Gcm, &key).expect("16-byte key"),
        iv,
    };
    let mut body = vec![0u8; sealed.len()];
    timed("tlscore RecordKeys::open (TLS 1.3, seq 0)", bytes, || {
        let mut ok = 0;
        for _ in 0..n {
            body.copy_from_slice(&sealed);
            ok += keys.open(&header, &mut body, 0).is_ok() as usize;
        }
        ok
    });
}
