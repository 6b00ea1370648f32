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
    /// The PSH flag.
    pub psh: bool,
    /// The window field as on the wire (before any scaling).
    pub window: u16,
    /// The window scale option's shift count (SYN segments only).
    pub wscale: Option<u8>,
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
    match decode_common(link, data) {
        Some(d) => d,
        None => decode_lax(link, data),
    }
}

/// The common case on a path of its own: an unfragmented TCP segment in an
/// IPv4 or IPv6 datagram without extension headers, every header whole and
/// the datagram inside the record. It slices each header once, with
/// etherparse's header slices, where the lax slicer builds (and copies) a
/// whole sliced packet. Anything else (VLAN tags, fragments, extension
/// headers, a datagram the snapshot length cut, an odd length field, a
/// header that does not parse) is `None`, for `decode_lax`, which decodes
/// the common case to the same segment (a test holds the two paths to it).
#[inline]
fn decode_common(link: LinkType, data: &[u8]) -> Option<Decoded<'_>> {
    let ip = match link {
        linktype::ETHERNET => {
            let eth = etherparse::Ethernet2Slice::from_slice_without_fcs(data).ok()?;
            ip_of(eth.ether_type(), eth.payload_slice())?
        }
        linktype::RAW
        | linktype::RAW_OPENBSD
        | linktype::RAW_BSDOS
        | linktype::IPV4
        | linktype::IPV6 => data,
        linktype::LINUX_SLL => ip_of(
            ether_type_at(data, SLL_PROTOCOL, SLL_HEADER_LEN)?,
            data.get(SLL_HEADER_LEN..)?,
        )?,
        linktype::LINUX_SLL2 => ip_of(
            ether_type_at(data, SLL2_PROTOCOL, SLL2_HEADER_LEN)?,
            data.get(SLL2_HEADER_LEN..)?,
        )?,
        _ => return None,
    };
    // As etherparse does, the IP version comes from the header itself,
    // whichever of the two IP EtherTypes announced it.
    let (src, dst, tcp) = match ip.first()? >> 4 {
        4 => {
            let h = etherparse::Ipv4HeaderSlice::from_slice(ip).ok()?;
            if h.protocol() != etherparse::IpNumber::TCP || h.is_fragmenting_payload() {
                return None;
            }
            // None when the total length is under the header's (the lax
            // slicer then takes the rest of the record) or beyond the record.
            let tcp = ip.get(h.slice().len()..usize::from(h.total_len()))?;
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                tcp,
            )
        }
        6 => {
            let h = etherparse::Ipv6HeaderSlice::from_slice(ip).ok()?;
            // A payload length of 0 is a jumbogram's (or a capture of
            // segmentation offload): the lax slicer's business.
            if h.next_header() != etherparse::IpNumber::TCP || h.payload_length() == 0 {
                return None;
            }
            let start = h.slice().len();
            let tcp = ip.get(start..start + usize::from(h.payload_length()))?;
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                tcp,
            )
        }
        _ => return None,
    };
    let tcp = etherparse::TcpSlice::from_slice(tcp).ok()?;
    Some(Decoded::Tcp(segment(src, dst, &tcp, 0)))
}

/// The IP datagram after a link header that announces IPv4 or IPv6.
#[inline]
fn ip_of(ether_type: EtherType, payload: &[u8]) -> Option<&[u8]> {
    (ether_type == EtherType::IPV4 || ether_type == EtherType::IPV6).then_some(payload)
}

/// The segment a TCP header slice heads.
#[inline(always)]
fn segment<'a>(
    src: IpAddr,
    dst: IpAddr,
    tcp: &etherparse::TcpSlice<'a>,
    missing: usize,
) -> Segment<'a> {
    Segment {
        src: SocketAddr::new(src, tcp.source_port()),
        dst: SocketAddr::new(dst, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.ack().then(|| tcp.acknowledgment_number()),
        syn: tcp.syn(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        payload: tcp.payload(),
        missing: u32::try_from(missing).unwrap_or(u32::MAX),
        psh: tcp.psh(),
        window: tcp.window_size(),
        // Options are read only on SYNs, where the scale is announced.
        wscale: if tcp.syn() {
            tcp.options_iterator().find_map(|o| match o {
                Ok(etherparse::TcpOptionElement::WindowScale(s)) => Some(s),
                _ => None,
            })
        } else {
            None
        },
    }
}

/// Decodes any record with etherparse's lax slicer.
fn decode_lax(link: LinkType, data: &[u8]) -> Decoded<'_> {
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
            let declared = usize::from(h.total_len()).checked_sub(
                usize::from(h.ihl()) * 4 + v4.extensions().auth.map_or(0, |a| a.slice().len()),
            );
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
    Decoded::Tcp(segment(src_ip, dst_ip, tcp, missing))
}

/// Decodes the TCP segment a reassembled IP datagram carries (`payload`
/// is the datagram's whole payload, from `crate::defrag`).
pub fn reassembled_tcp(src: IpAddr, dst: IpAddr, payload: &[u8]) -> Decoded<'_> {
    let tcp = match etherparse::TcpSlice::from_slice(payload) {
        Ok(t) => t,
        Err(e) => return Decoded::Malformed(format!("tcp in a reassembled datagram: {e}")),
    };
    Decoded::Tcp(segment(src, dst, &tcp, 0))
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

    /// A TCP packet as one of the link types, IPv4 or IPv6, optionally
    /// VLAN-tagged (Ethernet only).
    fn packet(
        link: LinkType,
        v6: bool,
        vlan: bool,
        tcp: (u32, u32, u8),
        payload: &[u8],
    ) -> Vec<u8> {
        let eth = PacketBuilder::ethernet2([1; 6], [2; 6]);
        let ip = match (vlan, v6) {
            (false, false) => eth.ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64),
            (false, true) => eth.ipv6([1; 16], [2; 16], 64),
            (true, false) => eth
                .single_vlan(etherparse::VlanId::try_new(7).unwrap())
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64),
            (true, true) => eth
                .single_vlan(etherparse::VlanId::try_new(7).unwrap())
                .ipv6([1; 16], [2; 16], 64),
        };
        let (seq, ack, flags) = (tcp.0, tcp.1, tcp.2);
        let mut b = ip.tcp(40000, 8080, seq, 512);
        if flags & 1 != 0 {
            b = b.ack(ack);
        }
        if flags & 2 != 0 {
            b = b.syn();
        }
        if flags & 4 != 0 {
            b = b.fin();
        }
        if flags & 8 != 0 {
            b = b.rst();
        }
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        let ip = v[14..].to_vec();
        match link {
            linktype::ETHERNET => v,
            linktype::LINUX_SLL => {
                let mut sll = vec![0u8; 16];
                sll[14..16].copy_from_slice(&v[12..14]);
                sll.extend_from_slice(&ip);
                sll
            }
            linktype::LINUX_SLL2 => {
                let mut sll2 = v[12..14].to_vec();
                sll2.extend_from_slice(&[0u8; 18]);
                sll2.extend_from_slice(&ip);
                sll2
            }
            _ => ip,
        }
    }

    const LINKS: [LinkType; 5] = [
        linktype::ETHERNET,
        linktype::RAW,
        linktype::IPV6,
        linktype::LINUX_SLL,
        linktype::LINUX_SLL2,
    ];

    #[test]
    fn whole_segments_take_the_common_path() {
        for link in LINKS {
            for v6 in [false, true] {
                let v = packet(link, v6, false, (1, 2, 1), b"hello");
                let Some(Decoded::Tcp(s)) = decode_common(link, &v) else {
                    panic!("link {link}, v6 {v6}: not on the common path")
                };
                assert_eq!(s.payload, b"hello");
                assert_eq!(s.missing, 0);
            }
        }
        // Not for the common path: a VLAN tag, a snapped datagram, an IPv4
        // fragment, an IPv6 jumbogram's zero payload length.
        let v = packet(linktype::ETHERNET, false, true, (1, 2, 1), b"hello");
        assert!(decode_common(linktype::ETHERNET, &v).is_none());
        let v = packet(linktype::RAW, false, false, (1, 2, 1), b"hello");
        assert!(decode_common(linktype::RAW, &v[..v.len() - 1]).is_none());
        let mut f = v.clone();
        f[6] |= 0x20; // more fragments
        assert!(decode_common(linktype::RAW, &f).is_none());
        let mut j = packet(linktype::RAW, true, false, (1, 2, 1), b"hello");
        j[4..6].copy_from_slice(&[0, 0]);
        assert!(decode_common(linktype::RAW, &j).is_none());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]
        /// Whatever the common path decodes, the lax slicer decodes the
        /// same: packets of every shape, their headers overwritten here and
        /// there, padded or cut at any length.
        #[test]
        fn the_common_path_decodes_as_the_lax_slicer(
            link in proptest::sample::select(LINKS.to_vec()),
            v6: bool,
            vlan: bool,
            tcp: (u32, u32, u8),
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48),
            edits in proptest::collection::vec((0usize..80, proptest::prelude::any::<u8>()), 0..4),
            pad in 0usize..8,
            cut: Option<u16>,
        ) {
            let mut v = packet(link, v6, vlan && link == linktype::ETHERNET, tcp, &payload);
            v.extend(std::iter::repeat_n(0u8, pad));
            for (at, byte) in edits {
                if let Some(b) = v.get_mut(at) {
                    *b = byte;
                }
            }
            if let Some(cut) = cut {
                v.truncate(usize::from(cut) % (v.len() + 1));
            }
            if let Some(common) = decode_common(link, &v) {
                proptest::prop_assert_eq!(format!("{common:?}"), format!("{:?}", decode_lax(link, &v)));
            }
        }
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
