//! A build without the cargo feature `parquet` refuses `--format parquet`
//! with how to get it (exit 2), before reading anything. (With the feature,
//! tests/parquet.rs tests the files; the decision itself is unit-tested in
//! `render::columns` in both builds.)
#![cfg(not(feature = "parquet"))]

mod common;

use common::{bin, sample};

#[test]
fn without_the_feature_parquet_says_how_to_get_it() {
    let cap = sample("python-echo.pcap");
    for cmd in ["frames", "messages", "conns", "app", "check"] {
        let out = bin()
            .args([cmd, "--format", "parquet", "-o", "/nonexistent/x.parquet"])
            .arg(&cap)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("this build has no Parquet support")
                && err.contains("cargo build --release --features parquet"),
            "{cmd}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
}
