//! A progress line on standard error for long runs: bytes read of the
//! total, and the rate. The binary shows it only when standard error is a
//! terminal, standard output is not (see `should_show`) and `--quiet` is
//! not given.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Whether to draw the progress line: only on a terminal, and only when
/// standard output is not that terminal too (rows and the line would mix).
pub fn should_show(quiet: bool, stderr_terminal: bool, stdout_terminal: bool) -> bool {
    !quiet && stderr_terminal && !stdout_terminal
}

/// Wraps a reader and redraws one status line at most every `every`.
pub struct Progress<R, W: Write> {
    inner: R,
    out: W,
    label: String,
    total: Option<u64>,
    read: u64,
    start: Instant,
    last: Instant,
    every: Duration,
    drawn: bool,
}

impl<R: Read, W: Write> Progress<R, W> {
    /// `total` is the input's size when known (a file, not a pipe).
    pub fn new(inner: R, out: W, label: &str, total: Option<u64>, every: Duration) -> Self {
        let now = Instant::now();
        Progress {
            inner,
            out,
            label: label.to_string(),
            total,
            read: 0,
            start: now,
            last: now,
            every,
            drawn: false,
        }
    }

    /// The status line as it would be drawn now.
    pub fn line(&self) -> String {
        let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
        let secs = self.start.elapsed().as_secs_f64().max(1e-6);
        let rate = self.read as f64 / 1e6 / secs;
        match self.total {
            Some(t) if t > 0 => format!(
                "{}: {:.0} of {:.0} MiB ({:.0}%), {rate:.0} MB/s",
                self.label,
                mib(self.read),
                mib(t),
                100.0 * self.read as f64 / t as f64
            ),
            _ => format!("{}: {:.0} MiB, {rate:.0} MB/s", self.label, mib(self.read)),
        }
    }

    fn draw(&mut self) {
        let line = self.line();
        // \r then clear to the end of the line: redraw in place.
        let _ = write!(self.out, "\r{line}\x1b[K");
        let _ = self.out.flush();
        self.drawn = true;
    }
}

impl<R, W: Write> Drop for Progress<R, W> {
    /// Erases the status line so the next message starts clean.
    fn drop(&mut self) {
        if self.drawn {
            let _ = write!(self.out, "\r\x1b[K");
            let _ = self.out.flush();
        }
    }
}

impl<R: Read, W: Write> Read for Progress<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.last.elapsed() >= self.every {
            self.last = Instant::now();
            self.draw();
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_bytes_and_erases_its_line() {
        let data = vec![7u8; 3 << 20];
        let mut shown = Vec::new();
        {
            let mut p = Progress::new(
                &data[..],
                &mut shown,
                "x.pcap",
                Some(3 << 20),
                Duration::ZERO,
            );
            let mut sink = Vec::new();
            p.read_to_end(&mut sink).unwrap();
            assert_eq!(sink.len(), 3 << 20);
            assert!(
                p.line().starts_with("x.pcap: 3 of 3 MiB (100%), "),
                "{}",
                p.line()
            );
        }
        let s = String::from_utf8(shown).unwrap();
        assert!(s.contains("x.pcap: "), "{s}");
        assert!(
            s.ends_with("\r\x1b[K"),
            "the line is erased at the end: {s:?}"
        );
    }

    #[test]
    fn shown_only_on_a_terminal_that_rows_do_not_share() {
        // (quiet, stderr is a terminal, stdout is a terminal) -> shown
        assert!(should_show(false, true, false));
        assert!(!should_show(false, true, true), "rows on the same screen");
        assert!(!should_show(false, false, false));
        assert!(!should_show(false, false, true));
        assert!(!should_show(true, true, false));
    }

    #[test]
    fn quiet_until_the_interval_passes() {
        let mut shown = Vec::new();
        {
            let mut p = Progress::new(
                &b"abc"[..],
                &mut shown,
                "x",
                None,
                Duration::from_secs(3600),
            );
            let mut sink = Vec::new();
            p.read_to_end(&mut sink).unwrap();
            assert_eq!(p.line().split(',').next(), Some("x: 0 MiB"));
        }
        assert!(shown.is_empty(), "nothing drawn, nothing erased");
    }
}
