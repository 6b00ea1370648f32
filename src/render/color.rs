//! Colour in table and text outputs (`--color`), through anstyle: the
//! severity of a finding, the opcode of a frame or message. Never in JSON,
//! CSV or HAR. Text is escaped (`render::escape`) before it is painted.

use anstyle::{AnsiColor, Effects, Style};

use crate::findings::Severity;
use crate::ws::frame::OpCode;

/// Whether to colour, from `--color` (`Some(true)` always, `Some(false)`
/// never, `None` auto), the environment and whether stdout is a terminal:
/// auto colours a terminal only; `NO_COLOR` set and non-empty turns it off
/// (<https://no-color.org>) unless `--color always`; `CLICOLOR_FORCE` set,
/// non-empty and not `0` turns it on even when piped.
pub fn enabled(asked: Option<bool>, stdout_is_terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    match asked {
        Some(on) => on,
        None if set("NO_COLOR") => false,
        None if set("CLICOLOR_FORCE")
            && std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0") =>
        {
            true
        }
        None => stdout_is_terminal,
    }
}

/// `s` between `style` and a reset.
pub fn paint(style: Style, s: &str) -> String {
    format!("{style}{s}{style:#}")
}

/// error red, warning yellow, info dim.
pub fn severity(s: Severity) -> Style {
    match s {
        Severity::Error => Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
        Severity::Warning => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
        Severity::Info => Style::new().effects(Effects::DIMMED),
    }
}

/// Data opcodes green (text) and cyan (binary), close yellow, ping and
/// pong magenta; continuations and reserved opcodes plain.
pub fn opcode(op: OpCode) -> Style {
    let c = match op {
        OpCode::Text => AnsiColor::Green,
        OpCode::Binary => AnsiColor::Cyan,
        OpCode::Close => AnsiColor::Yellow,
        OpCode::Ping | OpCode::Pong => AnsiColor::Magenta,
        _ => return Style::new(),
    };
    Style::new().fg_color(Some(c.into()))
}

/// Paints the first occurrence of `cell` in `line` at or after byte
/// `from` (a cell of a fixed-column row: the row is laid out uncoloured,
/// then painted, so widths and cuts are those of the plain text).
pub fn paint_cell(line: &str, from: usize, cell: &str, style: Style) -> String {
    if cell.is_empty() || style == Style::new() {
        return line.to_string();
    }
    match line.get(from..).and_then(|rest| rest.find(cell)) {
        Some(i) => {
            let at = from + i;
            let end = at + cell.len();
            format!(
                "{}{}{}",
                line.get(..at).unwrap_or_default(),
                paint(style, cell),
                line.get(end..).unwrap_or_default()
            )
        }
        None => line.to_string(),
    }
}
