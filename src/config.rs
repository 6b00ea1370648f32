//! Every memory cap in one place. Hitting a cap is a `limit.reached`
//! finding; the pipeline then skips what it must and goes on.

/// Resource caps and what the consumer wants kept.
#[derive(Debug, Clone)]
pub struct Config {
    /// Out-of-order bytes held per stream direction while a hole is open.
    pub max_ooo_bytes: usize,
    /// Out-of-order bytes held by all streams together; past it, the stream
    /// that adds more stops waiting for its holes.
    pub max_ooo_total: usize,
    /// Out-of-order segments held per stream direction.
    pub max_ooo_segments: usize,
    /// Bytes of one frame kept when it spans segments (its payload is
    /// reported up to this many bytes; its header is always decoded).
    pub max_frame_bytes: usize,
    /// Bytes of one (inflated) message kept for `messages` output.
    pub max_message_bytes: usize,
    /// Inflated bytes one compressed message may produce before the rest of
    /// it is skipped.
    pub max_inflated_bytes: u64,
    /// Inflated-to-wire ratio past which a message counts as a bomb (only
    /// checked once the output passes 1 MiB).
    pub max_inflate_ratio: u64,
    /// Bytes of one HTTP header block.
    pub max_http_header_bytes: usize,
    /// Client bytes held while an upgrade request waits for its answer.
    pub max_pending_bytes: usize,
    /// Live connections tracked at once; the oldest idle one is closed past it.
    pub max_connections: usize,
    /// Keep frame payloads (for `--payload` output and close reasons).
    pub keep_frame_payload: bool,
    /// Keep message bodies (for `messages` output).
    pub keep_message_data: bool,
    /// Of which connections the two above keep anything: all, or (explain)
    /// only the one shown.
    pub keep_for: KeepFor,
    /// TLS secrets: the key log files (`--keylog`, `SSLKEYLOGFILE`), and
    /// those a capture brings in pcapng Decryption Secrets Blocks.
    pub keylog: crate::tlscore::KeyRing,
    /// `--decode-as`: the subprotocol every WebSocket session is decoded
    /// as by the app stage (else the negotiated one, if any).
    pub decode_as: Option<crate::app::Protocol>,
    /// `explain`: the carriers (TLS, HTTP/2) report their layers as
    /// [`crate::event::Event::Layer`] records for the walkthrough.
    pub layers: bool,
    /// Send every TCP segment as an [`crate::event::Event::Segment`] (for
    /// `explain`'s TCP section; off for every other consumer).
    pub segment_log: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_ooo_bytes: 8 << 20,
            max_ooo_total: 64 << 20,
            max_ooo_segments: 4096,
            max_frame_bytes: 16 << 20,
            max_message_bytes: 64 << 20,
            max_inflated_bytes: 64 << 20,
            max_inflate_ratio: 1000,
            max_http_header_bytes: 64 << 10,
            max_pending_bytes: 1 << 20,
            max_connections: 100_000,
            keep_frame_payload: true,
            keep_message_data: true,
            keep_for: KeepFor::default(),
            keylog: crate::tlscore::KeyRing::default(),
            decode_as: None,
            layers: false,
            segment_log: false,
        }
    }
}

/// Which connections keep frame payloads and message bodies
/// ([`Config::keep_frame_payload`], [`Config::keep_message_data`]): every
/// one (the default), or one alone, as `explain` wants (it shows one
/// connection; the others' payloads would only take memory).
#[derive(Debug, Clone, Default)]
pub struct KeepFor(Option<std::sync::Arc<std::sync::atomic::AtomicU64>>);

/// No connection chosen yet: every one keeps.
const ANY_CONN: u64 = u64::MAX;

impl KeepFor {
    /// One connection: `Some(id)` from the start; with `None`, every
    /// connection until [`KeepFor::choose`] names one.
    pub fn one(conn: Option<u64>) -> Self {
        KeepFor(Some(std::sync::Arc::new(
            std::sync::atomic::AtomicU64::new(conn.unwrap_or(ANY_CONN)),
        )))
    }

    /// From now on only `conn` keeps (no effect on [`KeepFor::default`]).
    pub fn choose(&self, conn: u64) {
        if let Some(c) = &self.0 {
            c.store(conn, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Whether connection `conn` keeps.
    pub fn keeps(&self, conn: u64) -> bool {
        self.0.as_ref().is_none_or(|c| {
            let chosen = c.load(std::sync::atomic::Ordering::Relaxed);
            chosen == ANY_CONN || chosen == conn
        })
    }
}
