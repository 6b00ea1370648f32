//! The hello messages, read with rusticata's tls-parser: randoms, version
//! (supported_versions for TLS 1.3), cipher suite, SNI, ALPN,
//! extended_master_secret, encrypt_then_mac, HelloRetryRequest; and the
//! ALPN of TLS 1.3's EncryptedExtensions.
//!
//! The one hello reader of the crate: `crate::tls` (recognition) reads its
//! hellos through [`client_hello`] and [`server_hello`] too. Names stay
//! bytes here; each reader of them turns them into text its own way.

use tls_parser::{
    SNIType, TlsClientHelloContents, TlsExtension, TlsExtensionType, TlsMessage,
    TlsMessageHandshake, TlsServerHelloContents, parse_tls_client_hello_extensions,
    parse_tls_extensions, parse_tls_message_handshake, parse_tls_server_hello_extensions,
};

/// ServerHello.random of a HelloRetryRequest (RFC 8446 4.1.3): SHA-256 of "HelloRetryRequest".
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

pub const HS_CLIENT_HELLO: u8 = 1;
pub const HS_SERVER_HELLO: u8 = 2;
pub const HS_ENCRYPTED_EXTENSIONS: u8 = 8;
pub const HS_FINISHED: u8 = 20;
pub const HS_KEY_UPDATE: u8 = 24;

/// What the ClientHello says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    pub random: [u8; 32],
    /// The host_name of server_name, as sent.
    pub sni: Option<Vec<u8>>,
    /// The ALPN offers, as sent.
    pub alpn: Vec<Vec<u8>>,
    pub supported_versions: Vec<u16>,
    pub legacy_version: u16,
    /// The early_data extension: 0-RTT data may follow the ClientHello.
    pub early_data: bool,
}

/// What the ServerHello says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHello {
    pub random: [u8; 32],
    /// The negotiated version: supported_versions when present, else legacy_version.
    pub version: u16,
    pub legacy_version: u16,
    pub cipher: u16,
    /// The ALPN protocol selected (TLS 1.2 and earlier), as sent.
    pub alpn: Option<Vec<u8>>,
    pub extended_master_secret: bool,
    pub encrypt_then_mac: bool,
    pub hello_retry: bool,
}

/// A name from a hello as text: printable ASCII kept, everything else
/// escaped, so capture bytes never reach a terminal raw.
pub fn text(b: &[u8]) -> String {
    b.iter()
        .flat_map(|&c| std::ascii::escape_default(c))
        .map(char::from)
        .collect()
}

/// Parses a whole ClientHello message (4-byte header included).
pub fn parse_client_hello(msg: &[u8]) -> Option<ClientHello> {
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)))) =
        parse_tls_message_handshake(msg)
    else {
        return None;
    };
    client_hello(&ch)
}

/// What a ClientHello tls-parser has parsed says.
pub fn client_hello(ch: &TlsClientHelloContents<'_>) -> Option<ClientHello> {
    let mut out = ClientHello {
        random: ch.random.try_into().ok()?,
        legacy_version: ch.version.0,
        ..ClientHello::default()
    };
    if let Some(Ok((_, exts))) = ch.ext.map(parse_tls_client_hello_extensions) {
        for e in exts {
            match e {
                TlsExtension::SNI(names) => {
                    out.sni = names
                        .iter()
                        .find(|(t, _)| *t == SNIType::HostName)
                        .map(|(_, n)| n.to_vec());
                }
                TlsExtension::ALPN(list) => out.alpn = list.iter().map(|p| p.to_vec()).collect(),
                TlsExtension::SupportedVersions(v) => {
                    out.supported_versions = v.iter().map(|v| v.0).collect()
                }
                TlsExtension::EarlyData(_) => out.early_data = true,
                _ => {}
            }
        }
    }
    Some(out)
}

/// Parses a whole ServerHello message (4-byte header included).
pub fn parse_server_hello(msg: &[u8]) -> Option<ServerHello> {
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) =
        parse_tls_message_handshake(msg)
    else {
        return None;
    };
    server_hello(&sh)
}

/// What a ServerHello tls-parser has parsed says.
pub fn server_hello(sh: &TlsServerHelloContents<'_>) -> Option<ServerHello> {
    let random: [u8; 32] = sh.random.try_into().ok()?;
    let mut out = ServerHello {
        random,
        version: sh.version.0,
        legacy_version: sh.version.0,
        cipher: sh.cipher.0,
        hello_retry: random == HRR_RANDOM,
        ..ServerHello::default()
    };
    if let Some(Ok((_, exts))) = sh.ext.map(parse_tls_server_hello_extensions) {
        for e in exts {
            match e {
                TlsExtension::ALPN(list) => out.alpn = list.first().map(|p| p.to_vec()),
                TlsExtension::SupportedVersions(v) => {
                    if let Some(v) = v.first() {
                        out.version = v.0;
                    }
                }
                TlsExtension::ExtendedMasterSecret => out.extended_master_secret = true,
                // tls-parser 0.12.2's ServerHello parser files encrypt_then_mac
                // (type 22, RFC 7366) as Unknown and calls type 21 (padding)
                // EncryptThenMac: go by the type number.
                TlsExtension::Unknown(TlsExtensionType(22), _) => out.encrypt_then_mac = true,
                _ => {}
            }
        }
    }
    Some(out)
}

/// The ALPN protocol of a TLS 1.3 EncryptedExtensions message (4-byte header included).
pub fn encrypted_extensions_alpn(msg: &[u8]) -> Option<String> {
    let body = msg.get(4..)?;
    let len = u16::from_be_bytes([*body.first()?, *body.get(1)?]) as usize;
    let exts = body.get(2..2 + len)?;
    let (_, exts) = parse_tls_extensions(exts).ok()?;
    exts.into_iter().find_map(|e| match e {
        TlsExtension::ALPN(list) => list.first().map(|p| text(p)),
        _ => None,
    })
}

/// The name of a protocol version: "1.0" to "1.3", and "SSL 3.0".
pub fn version_name(v: u16) -> Option<&'static str> {
    Some(match v {
        0x0300 => "SSL 3.0",
        0x0301 => "1.0",
        0x0302 => "1.1",
        0x0303 => "1.2",
        0x0304 => "1.3",
        _ => return None,
    })
}

/// IANA name of a cipher suite, from tls-parser's registry.
pub fn cipher_name(id: u16) -> Option<&'static str> {
    tls_parser::TlsCipherSuite::from_id(id).map(|c| c.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_hello(exts: &[u8]) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[7; 32]);
        b.extend_from_slice(&[0, 0xc0, 0x28, 0]);
        b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        b.extend_from_slice(exts);
        let mut m = vec![HS_SERVER_HELLO, 0];
        m.extend_from_slice(&(b.len() as u16).to_be_bytes());
        m.extend_from_slice(&b);
        m
    }

    #[test]
    fn encrypt_then_mac_is_extension_22_not_21() {
        // RFC 7366: encrypt_then_mac is 22; 21 is padding (RFC 7685).
        let etm = parse_server_hello(&server_hello(&[0, 22, 0, 0, 0, 23, 0, 0])).unwrap();
        assert!(etm.encrypt_then_mac && etm.extended_master_secret);
        let padding = parse_server_hello(&server_hello(&[0, 21, 0, 0])).unwrap();
        assert!(!padding.encrypt_then_mac && !padding.extended_master_secret);
        assert_eq!(
            (etm.version, etm.cipher, etm.hello_retry),
            (0x0303, 0xc028, false)
        );
    }

    #[test]
    fn hello_retry_request_is_told_by_its_random() {
        let mut m = server_hello(&[0, 43, 0, 2, 3, 4]);
        m[6..38].copy_from_slice(&HRR_RANDOM);
        let sh = parse_server_hello(&m).unwrap();
        assert!(sh.hello_retry);
        assert_eq!(sh.version, 0x0304);
    }
}
