//! Packet stage: link layer, IPv4/IPv6 and TCP headers, as zero-copy views.
//!
//! The link layers etherparse does not know (BSD NULL/LOOP, Linux cooked v1
//! and v2) are peeled here to an EtherType; etherparse's lax slicing does the
//! rest, bounding the TCP payload by the IP total length (so Ethernet padding
//! is never data) and telling us when the snapshot length cut the packet.

use std::net::{IpAddr, SocketAddr};

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};

pub use linktype::LinkType;

/// Link-layer types: the number a capture records for each interface, and
/// the LINKTYPE_* values we decode. A leaf of the pipeline: the capture
/// stage (which refuses a file of a link type nothing here decodes) and
/// this stage both use it, and it uses neither.
pub mod linktype {
    /// A link-layer type number (LINKTYPE_*), as recorded in the capture.
    pub type LinkType = i32;

    pub const NULL: LinkType = 0;
    pub const ETHERNET: LinkType = 1;
    pub const RAW_OPENBSD: LinkType = 12;
    pub const RAW_BSDOS: LinkType = 14;
    pub const RAW: LinkType = 101;
    pub const LOOP: LinkType = 108;
    pub const LINUX_SLL: LinkType = 113;
    pub const IPV4: LinkType = 228;
    pub const IPV6: LinkType = 229;
    pub const LINUX_SLL2: LinkType = 276;

    /// Whether `decode` understands this link type.
    pub fn is_supported(link: LinkType) -> bool {
        matches!(
            link,
            NULL | ETHERNET
                | RAW_OPENBSD
                | RAW_BSDOS
                | RAW
                | LOOP
                | LINUX_SLL
                | IPV4
                | IPV6
                | LINUX_SLL2
        )
    }
}

/// Linux cooked capture v1: 16-byte header, protocol (EtherType) at 14.
const SLL_HEADER_LEN: usize = 16;
const SLL_PROTOCOL: usize = 14;
/// Linux cooked capture v2: 20-byte header, protocol (EtherType) at 0.
const SLL2_HEADER_LEN: usize = 20;
const SLL2_PROTOCOL: usize = 0;
/// BSD loopback: a 4-byte address family (host order for NULL, network for LOOP).
const NULL_HEADER_LEN: usize = 4;
const AF_INET: u32 = 2;
/// AF_INET6 differs between BSDs: Linux 10, FreeBSD 28, OpenBSD/NetBSD 24, Darwin 30.
const AF_INET6: [u32; 4] = [10, 24, 28, 30];

/// A TCP segment, borrowed from the record.
#[derive(Debug, Clone)]
pub struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    /// The acknowledgment number, when the ACK flag is set.
    pub ack: Option<u32>,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    /// The payload bytes present in the capture.
    pub payload: &'a [u8],
    /// Payload bytes the IP header declares but the capture cut off.
    pub missing: u32,
}

/// One fragment of a fragmented IPv4 or IPv6 datagram that carries TCP.
#[derive(Debug, Clone)]
pub struct Fragment<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The IPv4 identification (16 bits) or the IPv6 fragment header's (32 bits).
    pub id: u32,
    /// Byte offset of `payload` in the datagram's payload.
    pub offset: u16,
    /// More fragments follow this one.
    pub more: bool,
    /// The fragment's bytes present in the capture.
    pub payload: &'a [u8],
    /// The capture cut the fragment short (its bytes cannot complete the datagram).
    pub cut: bool,
}

/// What a record turned out to be.
#[derive(Debug)]
pub enum Decoded<'a> {
    Tcp(Segment<'a>),
    /// Not TCP over IP (ARP, UDP, ICMP, ...): nothing for us.
    Other,
    /// A fragment of a fragmented IP datagram carrying TCP, to be reassembled
    /// (see `crate::defrag`).
    IpFragment(Fragment<'a>),
    /// A link type we do not decode.
    UnsupportedLink(LinkType),
    /// Headers that could not be read; the reason names the layer.
    Malformed(String),
}

/// Decodes one record of the given link type.
pub fn decode(link: LinkType, data: &[u8]) -> Decoded<'_> {
    let sliced = match link {
        linktype::ETHERNET => match LaxSlicedPacket::from_ethernet(data) {
            Ok(p) => p,
            Err(e) => return Decoded::Malformed(format!("ethernet: {e}")),
        },
        linktype::RAW
        | linktype::RAW_OPENBSD
        | linktype::RAW_BSDOS
        | linktype::IPV4
        | linktype::IPV6 => match LaxSlicedPacket::from_ip(data) {
            Ok(p) => p,
            Err(e) => return Decoded::Malformed(format!("ip: {e}")),
        },
        linktype::LINUX_SLL => match ether_type_at(data, SLL_PROTOCOL, SLL_HEADER_LEN) {
            Some(t) => LaxSlicedPacket::from_ether_type(t, &data[SLL_HEADER_LEN..]),
            None => return Decoded::Malformed("linux cooked header cut short".into()),
        },
        linktype::LINUX_SLL2 => match ether_type_at(data, SLL2_PROTOCOL, SLL2_HEADER_LEN) {
            Some(t) => LaxSlicedPacket::from_ether_type(t, &data[SLL2_HEADER_LEN..]),
            None => return Decoded::Malformed("linux cooked v2 header cut short".into()),
        },
        linktype::NULL | linktype::LOOP => {
            let Some(af) = data.get(..NULL_HEADER_LEN) else {
                return Decoded::Malformed("loopback header cut short".into());
            };
            let af: [u8; 4] = [af[0], af[1], af[2], af[3]];
            // NULL is in the capturing host's byte order: accept either.
            let fams = [u32::from_be_bytes(af), u32::from_le_bytes(af)];
            let t = if fams.contains(&AF_INET) {
                EtherType::IPV4
            } else if fams.iter().any(|f| AF_INET6.contains(f)) {
                EtherType::IPV6
            } else {
                return Decoded::Other;
            };
            LaxSlicedPacket::from_ether_type(t, &data[NULL_HEADER_LEN..])
        }
        other => return Decoded::UnsupportedLink(other),
    };
    from_sliced(&sliced)
}

fn ether_type_at(data: &[u8], at: usize, header_len: usize) -> Option<EtherType> {
    if data.len() < header_len {
        return None;
    }
    let b = data.get(at..at + 2)?;
    Some(EtherType(u16::from_be_bytes([b[0], b[1]])))
}

fn from_sliced<'a>(p: &LaxSlicedPacket<'a>) -> Decoded<'a> {
    let (src_ip, dst_ip, declared_ip_payload, ip_payload) = match &p.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            let declared = usize::from(h.total_len())
                .checked_sub(usize::from(h.ihl()) * 4 + v4.extensions().to_header().header_len());
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                declared,
                v4.payload(),
            )
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let declared =
                usize::from(h.payload_length()).checked_sub(v6.extensions().slice().len());
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                declared,
                v6.payload(),
            )
        }
        Some(LaxNetSlice::Arp(_)) | None => {
            return match &p.stop_err {
                Some((e, layer)) if p.link.is_some() || !p.link_exts.is_empty() => {
                    Decoded::Malformed(format!("{layer}: {e}"))
                }
                _ => Decoded::Other,
            };
        }
    };
    if ip_payload.fragmented {
        if ip_payload.ip_number != etherparse::IpNumber::TCP {
            return Decoded::Other;
        }
        let (id, offset, more) = match &p.net {
            Some(LaxNetSlice::Ipv4(v4)) => {
                let h = v4.header();
                (
                    u32::from(h.identification()),
                    h.fragments_offset(),
                    h.more_fragments(),
                )
            }
            Some(LaxNetSlice::Ipv6(v6)) => {
                let frag = v6.extensions().clone().into_iter().find_map(|e| match e {
                    etherparse::Ipv6ExtensionSlice::Fragment(f) => Some(f.to_header()),
                    _ => None,
                });
                match frag {
                    Some(f) => (f.identification, f.fragment_offset, f.more_fragments),
                    None => return Decoded::Malformed("ipv6: fragment header unreadable".into()),
                }
            }
            _ => return Decoded::Other,
        };
        return Decoded::IpFragment(Fragment {
            src: src_ip,
            dst: dst_ip,
            id,
            offset: offset.byte_offset(),
            more,
            payload: ip_payload.payload,
            cut: ip_payload.incomplete,
        });
    }
    if ip_payload.ip_number != etherparse::IpNumber::TCP {
        return Decoded::Other;
    }
    let tcp = match &p.transport {
        Some(TransportSlice::Tcp(t)) => t,
        _ => {
            return match &p.stop_err {
                Some((e, layer)) => Decoded::Malformed(format!("{layer}: {e}")),
                None => Decoded::Other,
            };
        }
    };
    let payload = tcp.payload();
    let missing = if ip_payload.incomplete {
        declared_ip_payload
            .and_then(|d| d.checked_sub(tcp.header_slice().len()))
            .and_then(|d| d.checked_sub(payload.len()))
            .unwrap_or(0)
    } else {
        0
    };
    Decoded::Tcp(Segment {
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.ack().then(|| tcp.acknowledgment_number()),
        syn: tcp.syn(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        payload,
        missing: u32::try_from(missing).unwrap_or(u32::MAX),
    })
}

/// Decodes the TCP segment a reassembled IP datagram carries (`payload`
/// is the datagram's whole payload, from `crate::defrag`).
pub fn reassembled_tcp(src: IpAddr, dst: IpAddr, payload: &[u8]) -> Decoded<'_> {
    let tcp = match etherparse::TcpSlice::from_slice(payload) {
        Ok(t) => t,
        Err(e) => return Decoded::Malformed(format!("tcp in a reassembled datagram: {e}")),
    };
    Decoded::Tcp(Segment {
        src: SocketAddr::new(src, tcp.source_port()),
        dst: SocketAddr::new(dst, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.ack().then(|| tcp.acknowledgment_number()),
        syn: tcp.syn(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        payload: tcp.payload(),
        missing: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_packet(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 8080, 1000, 512)
            .ack(77);
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut v = tcp_packet(b"hi");
        v.extend_from_slice(&[0u8; 6]); // padding to the Ethernet minimum
        let Decoded::Tcp(s) = decode(linktype::ETHERNET, &v) else {
            panic!()
        };
        assert_eq!(s.payload, b"hi");
        assert_eq!(s.missing, 0);
        assert_eq!(s.src.to_string(), "10.0.0.1:40000");
        assert_eq!(s.seq, 1000);
        assert_eq!(s.ack, Some(77));
    }

    #[test]
    fn snapped_packet_reports_missing_bytes() {
        let v = tcp_packet(&[7u8; 100]);
        let Decoded::Tcp(s) = decode(linktype::ETHERNET, &v[..v.len() - 40]) else {
            panic!()
        };
        assert_eq!(s.payload.len(), 60);
        assert_eq!(s.missing, 40);
    }

    #[test]
    fn cooked_v1_v2_null_and_raw_reach_tcp() {
        let eth = tcp_packet(b"x");
        let ip = &eth[14..];
        let mut sll = vec![0u8; 16];
        sll[14..16].copy_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(ip);
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(ip);
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(ip);
        for (link, data) in [
            (linktype::LINUX_SLL, &sll[..]),
            (linktype::LINUX_SLL2, &sll2[..]),
            (linktype::NULL, &null[..]),
            (linktype::RAW, ip),
        ] {
            let Decoded::Tcp(s) = decode(link, data) else {
                panic!("link {link}")
            };
            assert_eq!(s.payload, b"x", "link {link}");
        }
        assert!(matches!(decode(147, &eth), Decoded::UnsupportedLink(147)));
        assert!(matches!(
            decode(linktype::LINUX_SLL2, &sll2[..5]),
            Decoded::Malformed(_)
        ));
    }

    #[test]
    fn vlan_tagged_ipv6() {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .single_vlan(etherparse::VlanId::try_new(7).unwrap())
            .ipv6([1; 16], [2; 16], 64)
            .tcp(1, 2, 3, 4);
        let mut v = Vec::new();
        b.write(&mut v, b"abc").unwrap();
        let Decoded::Tcp(s) = decode(linktype::ETHERNET, &v) else {
            panic!()
        };
        assert_eq!(s.payload, b"abc");
        assert!(s.src.to_string().starts_with("[101:101:"));
    }
}
