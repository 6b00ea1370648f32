//! The pipeline's first two stages depend one way only (issue 13 listed a
//! cycle between them): the capture stage (reading records) may use the
//! link-type table, `packet::linktype`, which depends on nothing, and the
//! packet stage (decoding records) uses nothing of the capture stage.

use std::path::PathBuf;

fn source(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The paths into `module` that `text` names (`crate::module...`), with
/// their continuation up to the first character that cannot be in a path.
fn uses_of(text: &str, module: &str) -> Vec<String> {
    let needle = format!("crate::{module}");
    text.match_indices(&needle)
        .map(|(at, _)| {
            text[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect()
        })
        .collect()
}

#[test]
fn packet_does_not_depend_on_capture() {
    let packet = source("packet.rs");
    assert_eq!(uses_of(&packet, "capture"), Vec::<String>::new());
}

#[test]
fn capture_uses_only_the_link_type_table_of_packet() {
    let capture = source("capture.rs");
    for path in uses_of(&capture, "packet") {
        assert!(
            path == "crate::packet::linktype" || path.starts_with("crate::packet::linktype::"),
            "capture.rs uses {path}"
        );
    }
}

#[test]
fn the_link_type_table_depends_on_nothing() {
    let packet = source("packet.rs");
    let start = packet
        .find("pub mod linktype {")
        .expect("packet::linktype is an inline module of packet.rs");
    // The module ends at the first line that closes a brace at column 0.
    let body = &packet[start..];
    let end = body.find("\n}\n").expect("end of packet::linktype");
    let body = &body[..end];
    assert!(!body.contains("use "), "packet::linktype imports: {body}");
    assert!(!body.contains("crate::"), "packet::linktype names: {body}");
    assert!(
        body.contains("pub type LinkType"),
        "LinkType lives in packet::linktype"
    );
}
