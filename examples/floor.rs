//! The benchmark's floor: the plain loop anyone would write over the crates
//! wsdissect reads captures with, and no wsdissect code at all. It streams a
//! pcap or pcapng file through pcap-parser's reader (a 1 MiB buffer, as
//! wsdissect's capture stage has), slices every packet with etherparse's
//! `SlicedPacket`, and sums the TCP payload bytes; printing the sum keeps the
//! compiler from dropping the work.
//!
//! Usage: cargo run --release --example floor -- CAPTURE
//!
//! `SlicedPacket` is etherparse's strict slicer: a packet the capture's
//! snapshot length cut inside its IP datagram counts no payload here (our
//! packet stage, lax, still takes what is there). The benchmark's captures
//! have none, and the benchmark checks the two agree on them.
//!
//! Fast as the crates allow, with nothing left out a competent loop would
//! do: the reader's concrete type (no boxed trait object), records consumed
//! without shifting the buffer (the one shift happens at refill, moving only
//! the partial record at the end), the buffer grown only for a record larger
//! than it.

use std::fs::File;
use std::io::{Read, Seek};

use etherparse::{EtherType, SlicedPacket, TransportSlice};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

/// The reader's buffer, the size wsdissect's capture stage starts with.
const READ_BUFFER: usize = 1 << 20;
/// Largest record the buffer grows for.
const MAX_RECORD: usize = 64 << 20;

fn die(msg: &str) -> ! {
    eprintln!("floor: {msg}");
    std::process::exit(1);
}

#[derive(Default)]
struct Sums {
    packets: u64,
    tcp_segments: u64,
    tcp_payload: u64,
}

impl Sums {
    /// Slices one packet of the given LINKTYPE_* and adds its TCP payload.
    #[inline]
    fn packet(&mut self, link: i32, data: &[u8]) {
        self.packets += 1;
        let sliced = match link {
            // Ethernet
            1 => SlicedPacket::from_ethernet(data),
            // Raw IP (101, and the BSD numbers 12 and 14), IPv4, IPv6
            12 | 14 | 101 | 228 | 229 => SlicedPacket::from_ip(data),
            // Linux cooked v1: the EtherType at 14 of 16 (etherparse's own
            // `from_linux_sll` leaves the payload unsliced for an ARPHRD
            // other than Ethernet, e.g. the loopback of an `any` capture).
            113 if data.len() >= 16 => SlicedPacket::from_ether_type(
                EtherType(u16::from_be_bytes([data[14], data[15]])),
                &data[16..],
            ),
            // Linux cooked v2: the EtherType is the first two bytes of 20.
            276 if data.len() >= 20 => SlicedPacket::from_ether_type(
                EtherType(u16::from_be_bytes([data[0], data[1]])),
                &data[20..],
            ),
            // BSD loopback: a 4-byte address family, then IP.
            0 | 108 if data.len() >= 4 => SlicedPacket::from_ip(&data[4..]),
            _ => return,
        };
        if let Ok(SlicedPacket {
            transport: Some(TransportSlice::Tcp(tcp)),
            ..
        }) = sliced
        {
            self.tcp_segments += 1;
            self.tcp_payload += tcp.payload().len() as u64;
        }
    }
}

/// Reads every block, handing packets to `sums`; returns the bytes consumed.
fn run<R: PcapReaderIterator>(mut reader: R, sums: &mut Sums) -> u64 {
    let mut capacity = READ_BUFFER;
    // Legacy pcap: one link type. pcapng: one per interface of the section.
    let mut legacy_link = -1;
    let mut links: Vec<i32> = Vec::new();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => legacy_link = h.network.0,
                    PcapBlockOwned::Legacy(b) => {
                        let len = (b.caplen as usize).min(b.data.len());
                        sums.packet(legacy_link, &b.data[..len]);
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => links.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        links.push(idb.linktype.0)
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let link = links.get(epb.if_id as usize).copied().unwrap_or(-1);
                        let len = (epb.caplen as usize).min(epb.data.len());
                        sums.packet(link, &epb.data[..len]);
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let link = links.first().copied().unwrap_or(-1);
                        let len = (spb.origlen as usize).min(spb.data.len());
                        sums.packet(link, &spb.data[..len]);
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                reader.consume_noshift(offset);
            }
            Err(PcapError::Eof) => return reader.consumed() as u64,
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    die("read error");
                }
            }
            Err(PcapError::BufferTooSmall) => {
                capacity *= 2;
                if capacity > MAX_RECORD || !reader.grow(capacity) {
                    die("a record larger than 64 MiB");
                }
                if reader.refill().is_err() {
                    die("read error");
                }
            }
            Err(PcapError::UnexpectedEof) => die("the file ends in the middle of a record"),
            Err(e) => die(&format!("corrupt capture: {e:?}")),
        }
    }
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        die("usage: floor CAPTURE");
    };
    let mut file = File::open(&path).unwrap_or_else(|e| die(&format!("{path}: {e}")));
    let mut magic = [0u8; 4];
    if file.read_exact(&mut magic).is_err() || file.rewind().is_err() {
        die(&format!("{path}: too short to be a capture"));
    }
    let mut sums = Sums::default();
    let bytes = if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
        match PcapNGReader::new(READ_BUFFER, file) {
            Ok(r) => run(r, &mut sums),
            Err(e) => die(&format!("{path}: not a pcapng capture: {e:?}")),
        }
    } else {
        match LegacyPcapReader::new(READ_BUFFER, file) {
            Ok(r) => run(r, &mut sums),
            Err(e) => die(&format!("{path}: not a pcap capture: {e:?}")),
        }
    };
    println!(
        "{} packets, {} TCP segments, {} TCP payload bytes, {bytes} bytes read",
        sums.packets, sums.tcp_segments, sums.tcp_payload
    );
}
