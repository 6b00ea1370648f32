//! Fitting tables to the terminal.
//!
//! The width is `COLUMNS` when it is set, else the terminal's width when
//! standard output is a terminal (80 when it cannot be read); when output
//! goes to a pipe or a file and `COLUMNS` is unset, lines are not cut, so
//! `grep` and scripts see every column in full.

use std::io::IsTerminal;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Columns to fit output to, or `None` for no limit.
pub fn output_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return Some(n.max(20));
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    Some(
        comfy_table::Table::new()
            .width()
            .map_or(80, usize::from)
            .max(20),
    )
}

/// Display columns of `s` (wide characters count two).
pub fn cols(s: &str) -> usize {
    // Printable ASCII, by far the commonest cell, is one column a byte;
    // anything else is unicode-width's to measure (a test holds the two
    // to the same answer).
    if printable_ascii(s) {
        return s.len();
    }
    UnicodeWidthStr::width(s)
}

/// `s` cut to at most `max` display columns, ending in `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if cols(s) <= max {
        return s.to_string();
    }
    cut(s, max)
}

/// [`truncate`] of an owned string: returned as it is when it fits.
pub fn truncate_owned(s: String, max: usize) -> String {
    if cols(&s) <= max {
        return s;
    }
    cut(&s, max)
}

/// Whether every byte of `s` is printable ASCII (one column each).
fn printable_ascii(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// `s`, wider than `max`, cut to `max - 1` columns and `…`.
fn cut(s: &str, max: usize) -> String {
    if printable_ascii(s) {
        // One column a byte: what the loop below keeps, without it.
        let keep = max.saturating_sub(1).min(s.len());
        let mut o = String::with_capacity(keep + 3);
        o.push_str(&s[..keep]);
        if max > 0 {
            o.push('…');
        }
        return o;
    }
    cut_chars(s, max)
}

/// [`cut`], a character at a time.
fn cut_chars(s: &str, max: usize) -> String {
    let mut o = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw + 1 > max {
            break;
        }
        w += cw;
        o.push(c);
    }
    if max > 0 {
        o.push('…');
    }
    o
}

/// `text` broken into lines of at most `width` columns, each starting with
/// `indent` (words longer than a line are cut between characters).
pub fn wrap(text: &str, width: usize, indent: &str) -> Vec<String> {
    let room = width.saturating_sub(cols(indent)).max(10);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut w = 0;
    for word in text.split(' ') {
        let ww = cols(word);
        if w > 0 && w + 1 + ww <= room {
            line.push(' ');
            line.push_str(word);
            w += 1 + ww;
            continue;
        }
        if w > 0 {
            lines.push(format!("{indent}{line}"));
            line.clear();
        }
        // A word wider than the line: cut it.
        let mut rest = word;
        while cols(rest) > room {
            let mut cut = 0;
            let mut cw = 0;
            for (i, c) in rest.char_indices() {
                let x = c.width().unwrap_or(0);
                if cw + x > room {
                    break;
                }
                cw += x;
                cut = i + c.len_utf8();
            }
            if cut == 0 {
                break;
            }
            lines.push(format!("{indent}{}", &rest[..cut]));
            rest = &rest[cut..];
        }
        line.push_str(rest);
        w = cols(rest);
    }
    if w > 0 || lines.is_empty() {
        lines.push(format!("{indent}{line}"));
    }
    lines
}

/// A table of left-aligned columns (one leading space, two between
/// columns, as comfy-table's borderless style) fitted to a width:
/// - everything on one line per row when it fits (always without a width);
/// - else the `flex` column (a path or a resource) is cut with `…`;
/// - else only the `first_line` columns stay in the row, and the others
///   go under it as `name value` pairs (`detail_names`, after
///   `detail_label`), wrapped to the width;
/// - any line still too wide is cut.
pub struct FitTable<'a> {
    pub header: &'a [&'a str],
    pub flex: Option<usize>,
    pub first_line: &'a [usize],
    pub detail_names: &'a [&'a str],
    pub detail_label: &'a str,
}

impl FitTable<'_> {
    pub fn render(
        &self,
        rows: &[Vec<String>],
        width: Option<usize>,
        with_header: bool,
    ) -> Vec<String> {
        let n = self.header.len();
        let mut ws: Vec<usize> = (0..n)
            .map(|i| {
                rows.iter()
                    .map(|r| r.get(i).map_or(0, |c| cols(c)))
                    .max()
                    .unwrap_or(0)
                    .max(cols(self.header[i]))
            })
            .collect();
        let total = |ws: &[usize], which: &[usize]| which.iter().map(|&i| ws[i] + 2).sum::<usize>();
        let all: Vec<usize> = (0..n).collect();
        let mut cut_flex = None;
        let mut shown: &[usize] = &all;
        if let Some(max) = width {
            if let Some(f) = self.flex.filter(|&f| f < n)
                && total(&ws, &all) > max
            {
                let over = total(&ws, &all) - max;
                let floor = cols(self.header[f]).max(8).min(ws[f]);
                ws[f] = ws[f].saturating_sub(over).max(floor);
                cut_flex = Some((f, ws[f]));
            }
            if total(&ws, &all) > max && !self.first_line.is_empty() {
                shown = self.first_line;
                if let Some(f) = self.flex.filter(|&f| f < n) {
                    // Stacked: the path may take what the moved columns left.
                    let full = rows
                        .iter()
                        .map(|r| r.get(f).map_or(0, |c| cols(c)))
                        .max()
                        .unwrap_or(0);
                    ws[f] = full.max(cols(self.header[f]));
                    let over = total(&ws, shown).saturating_sub(max);
                    let floor = cols(self.header[f]).max(8).min(ws[f]);
                    ws[f] = ws[f].saturating_sub(over).max(floor);
                    cut_flex = Some((f, ws[f]));
                }
            }
        }
        let cell = |r: &Vec<String>, i: usize| -> String {
            let c = r.get(i).map_or("", String::as_str);
            match cut_flex {
                Some((f, to)) if f == i => truncate(c, to),
                _ => c.to_string(),
            }
        };
        let line_of = |cells: &[String], which: &[usize]| -> String {
            let mut l = String::new();
            for (c, &i) in cells.iter().zip(which) {
                l.push(' ');
                l.push_str(c);
                l.push_str(&" ".repeat(ws[i].saturating_sub(cols(c)) + 1));
            }
            l.trim_end().to_string()
        };
        let stacked = shown.len() < n;
        let mut out = Vec::new();
        if with_header {
            let h: Vec<String> = shown.iter().map(|&i| self.header[i].to_string()).collect();
            out.push(line_of(&h, shown));
        }
        let indent = " ".repeat(ws.first().map_or(1, |w| w + 3));
        for r in rows {
            let cells: Vec<String> = shown.iter().map(|&i| cell(r, i)).collect();
            out.push(line_of(&cells, shown));
            if stacked {
                let mut detail = self.detail_label.to_string();
                for i in (0..n).filter(|i| !shown.contains(i)) {
                    let name = self.detail_names.get(i).copied().unwrap_or(self.header[i]);
                    if detail == self.detail_label && !detail.is_empty() {
                        detail.push(' ');
                    } else if !detail.is_empty() {
                        detail.push_str("  ");
                    }
                    detail.push_str(&format!("{name} {}", cell(r, i)));
                }
                match width {
                    Some(max) => out.extend(wrap(&detail, max, &indent)),
                    None => out.push(format!("{indent}{detail}")),
                }
            }
        }
        if let Some(max) = width {
            for l in &mut out {
                if cols(l) > max {
                    *l = truncate(l, max);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The printable-ASCII shortcut measures as unicode-width does,
        /// and both cuts agree: strings of ASCII (controls and DEL
        /// included), wide and combining characters, emoji and joiners.
        #[test]
        fn cols_is_unicode_width(s in "[ -~\\x00-\\x1f\\x7f\\u{80}-\\u{9f}é日本語\\u{301}\\u{200d}👍🏽]{0,40}", max in 0usize..30) {
            prop_assert_eq!(cols(&s), UnicodeWidthStr::width(s.as_str()));
            prop_assert_eq!(truncate_owned(s.clone(), max), truncate(&s, max));
        }

        /// The printable-ASCII cut keeps what the character loop keeps.
        #[test]
        fn ascii_cut_is_the_character_loop(s in "[ -~]{0,60}", max in 0usize..70) {
            prop_assert_eq!(cut(&s, max), cut_chars(&s, max));
        }
    }

    #[test]
    fn truncate_and_wrap_respect_the_width() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(cols(&truncate("日本語テキスト", 7)), 7);
        let lines = wrap("one two three four five six seven", 20, "    ");
        assert!(
            lines.len() > 1 && lines.iter().all(|l| cols(l) <= 20),
            "{lines:?}"
        );
        assert_eq!(lines.join(" ").split_whitespace().count(), 7);
        let long = wrap(&"x".repeat(50), 20, "  ");
        assert!(
            long.iter().all(|l| cols(l) <= 20) && long.len() == 3,
            "{long:?}"
        );
    }

    #[test]
    fn a_table_too_wide_cuts_its_flex_column_then_stacks() {
        let t = FitTable {
            header: &["id", "path", "a", "b"],
            flex: Some(1),
            first_line: &[0, 1],
            detail_names: &[],
            detail_label: "",
        };
        let rows = vec![vec![
            "0".into(),
            "/a/long/path/here".into(),
            "1".into(),
            "2".into(),
        ]];
        let full = t.render(&rows, None, true);
        assert_eq!(full[1], " 0   /a/long/path/here  1  2");
        let cut = t.render(&rows, Some(22), true);
        assert!(cut.iter().all(|l| cols(l) <= 22), "{cut:?}");
        assert!(cut[1].contains('…'));
        let stacked = t.render(&rows, Some(14), true);
        assert!(stacked.iter().all(|l| cols(l) <= 14), "{stacked:?}");
        assert_eq!(stacked.len(), 3);
        assert!(stacked[2].contains("a 1") && stacked[2].contains("b 2"));
    }
}
