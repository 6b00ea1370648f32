//! Close frame bodies (RFC 6455 sections 5.5.1 and 7.4).
#![deny(clippy::indexing_slicing, clippy::cast_possible_truncation)]
#![warn(missing_docs)]

use crate::findings::Code;

/// What a close code means, for people.
pub fn meaning(code: u16) -> &'static str {
    match code {
        1000 => "normal closure",
        1001 => "going away",
        1002 => "protocol error",
        1003 => "unsupported data",
        1004 => "reserved",
        1005 => "no status received (must not be sent)",
        1006 => "abnormal closure (must not be sent)",
        1007 => "invalid frame payload data",
        1008 => "policy violation",
        1009 => "message too big",
        1010 => "mandatory extension missing",
        1011 => "internal error",
        1012 => "service restart",
        1013 => "try again later",
        1014 => "bad gateway",
        1015 => "TLS handshake failure (must not be sent)",
        3000..=3999 => "registered for libraries and frameworks",
        4000..=4999 => "private use",
        _ => "not a valid close code",
    }
}

/// Judges a close code as sent on the wire (section 7.4.1 and the IANA
/// registry): `None` when it may be sent.
pub fn judge_code(code: u16) -> Option<Code> {
    match code {
        1000..=1003 | 1007..=1014 | 3000..=4999 => None,
        1004 | 1005 | 1006 | 1015 => Some(Code::CloseReservedCode),
        _ => Some(Code::CloseInvalidCode),
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn code_classes() {
        for ok in [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999] {
            assert_eq!(judge_code(ok), None, "{ok}");
        }
        for r in [1004, 1005, 1006, 1015] {
            assert_eq!(judge_code(r), Some(Code::CloseReservedCode), "{r}");
        }
        for bad in [0, 999, 1016, 2999, 5000, 65535] {
            assert_eq!(judge_code(bad), Some(Code::CloseInvalidCode), "{bad}");
        }
    }
}
