//! `wsdissect lesson`: the course in order, from captures built into the
//! binary. The pages are checked against the course's order (DESIGN.md,
//! Teaching), their links against the files written, and every figure
//! they state against `frames`/`messages`/`conns`/`push --format json` run
//! on the captures the lesson wrote out beside them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(args)
        .output()
        .unwrap()
}

fn run(args: &[&str]) -> String {
    let out = bin(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_lines(args: &[&str]) -> Vec<Value> {
    run(args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The course's order (DESIGN.md, Teaching, and issue 19): a word each
/// chapter's title must hold, in order.
const ORDER: [&str; 11] = [
    "request-response",
    "short polling",
    "long polling",
    "iframe",
    "server-sent events",
    "upgrade",
    "frames",
    "masking",
    "deflate",
    "close",
    "hand-written server",
];

/// A fresh lesson directory, written by the binary.
fn lesson_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsdissect-lesson-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = bin(&["lesson", "-o", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "lesson -o: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Every value of attribute `attr` in `html`, in order.
fn attrs(html: &str, attr: &str) -> Vec<String> {
    let pat = format!(" {attr}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&pat) {
        rest = &rest[i + pat.len()..];
        let end = rest.find('"').unwrap();
        out.push(unescape(&rest[..end]));
        rest = &rest[end..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text of the first `<tag ...>...</tag>` of `html`, tags stripped.
fn first_element_text(html: &str, tag: &str) -> String {
    let open = html.find(&format!("<{tag}")).unwrap();
    let start = open + html[open..].find('>').unwrap() + 1;
    let end = start + html[start..].find(&format!("</{tag}>")).unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[start..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    unescape(&text)
}

/// The chapter pages in the index's order.
fn chapter_pages(dir: &Path) -> Vec<String> {
    let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
    attrs(&index, "href")
        .into_iter()
        .filter(|h| h.ends_with(".html"))
        .collect()
}

/// `data-figure` name -> `data-value` of a chapter page.
fn figures(html: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (i, _) in html.match_indices("<tr data-figure=\"") {
        let row = &html[i..i + html[i..].find('>').unwrap()];
        let k = attrs(row, "data-figure");
        let v = attrs(row, "data-value");
        out.insert(k[0].clone(), v[0].clone());
    }
    out
}

#[test]
fn index_and_one_page_per_chapter_in_the_course_order() {
    let dir = lesson_dir("order");
    let pages = chapter_pages(&dir);
    assert_eq!(pages.len(), ORDER.len(), "{pages:?}");
    for (i, (page, word)) in pages.iter().zip(ORDER).enumerate() {
        let html = std::fs::read_to_string(dir.join(page)).unwrap();
        let h1 = first_element_text(&html, "h1").to_lowercase();
        assert!(
            h1.starts_with(&format!("{}. ", i + 1)) && h1.contains(word),
            "{page}: {h1:?} is not chapter {} ({word})",
            i + 1
        );
        // One page, one top heading: the embedded walkthrough's title is
        // a level below the chapter's.
        assert_eq!(html.matches("<h1").count(), 1, "{page}: more than one <h1>");
        assert!(
            html.contains("<h2>WebSocket walkthrough"),
            "{page}: the walkthrough's title is not an <h2>"
        );
        // prev / next chain the chapters in order.
        let next = html.find("rel=\"next\"").map(|_| ());
        let hrefs: Vec<(String, String)> = html
            .match_indices("<a href=\"")
            .map(|(k, _)| {
                let tag = &html[k..k + html[k..].find('>').unwrap()];
                (
                    attrs(tag, "href")[0].clone(),
                    attrs(tag, "rel").first().cloned().unwrap_or_default(),
                )
            })
            .collect();
        let nexts: Vec<_> = hrefs.iter().filter(|(_, r)| r == "next").collect();
        let prevs: Vec<_> = hrefs.iter().filter(|(_, r)| r == "prev").collect();
        match pages.get(i + 1) {
            Some(p) => assert!(nexts.iter().all(|(h, _)| h == p) && !nexts.is_empty()),
            None => assert!(next.is_none(), "the last chapter has no next"),
        }
        match i.checked_sub(1).map(|p| &pages[p]) {
            Some(p) => assert!(prevs.iter().all(|(h, _)| h == p) && !prevs.is_empty()),
            None => assert!(prevs.is_empty(), "the first chapter has no previous"),
        }
        assert!(hrefs.iter().any(|(h, _)| h == "index.html"), "{page}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_link_resolves_to_a_written_file_or_an_id_in_it() {
    let dir = lesson_dir("links");
    let mut pages = chapter_pages(&dir);
    pages.push("index.html".into());
    let mut checked = 0;
    for page in &pages {
        let html = std::fs::read_to_string(dir.join(page)).unwrap();
        for href in attrs(&html, "href") {
            assert!(
                !href.contains("//") && !href.starts_with('/'),
                "{page}: {href} leaves the lesson"
            );
            let (file, id) = match href.split_once('#') {
                Some((f, id)) => (if f.is_empty() { page.as_str() } else { f }, Some(id)),
                None => (href.as_str(), None),
            };
            let target = dir.join(file);
            assert!(target.is_file(), "{page}: {href}: {file} was not written");
            if let Some(id) = id {
                let t = std::fs::read_to_string(&target).unwrap();
                assert!(
                    t.contains(&format!(" id=\"{id}\"")),
                    "{page}: {href}: no id {id} in {file}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} links");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn figures_equal_the_json_of_the_written_captures() {
    let dir = lesson_dir("figures");
    for page in chapter_pages(&dir) {
        let html = std::fs::read_to_string(dir.join(&page)).unwrap();
        let cap = attrs(&html, "href")
            .into_iter()
            .find(|h| h.starts_with("captures/") && h.ends_with(".pcap"))
            .unwrap();
        let cap = dir.join(cap);
        let cap = cap.to_str().unwrap();
        let fig = figures(&html);
        let frames: Vec<Value> = json_lines(&["frames", "--format", "json", cap])
            .into_iter()
            .filter(|r| r["type"] == "frame")
            .collect();
        assert_eq!(fig["frames"], frames.len().to_string(), "{page}");
        let messages = json_lines(&["messages", "--format", "json", cap])
            .into_iter()
            .filter(|r| r["type"] == "message")
            .count();
        assert_eq!(fig["messages"], messages.to_string(), "{page}");
        if !frames.is_empty() {
            let lens: Vec<String> = frames
                .iter()
                .map(|f| f["payload_len"].to_string())
                .collect();
            assert_eq!(fig["lengths"], lens.join(","), "{page}");
        }
        let hs = json_lines(&["conns", "--format", "json", cap])
            .into_iter()
            .find(|r| r["type"] == "handshake");
        match hs {
            Some(h) => {
                assert_eq!(fig["accept"], h["accept"].as_str().unwrap(), "{page}");
                assert_eq!(fig["key"], h["key"].as_str().unwrap(), "{page}");
                // The walkthrough below shows the same value, computed.
                assert!(html.contains(h["accept_expected"].as_str().unwrap()));
            }
            None => assert!(!fig.contains_key("accept"), "{page}"),
        }
        let channels: Vec<String> = json_lines(&["push", "--format", "json", cap])
            .into_iter()
            .filter(|r| r["type"] == "push")
            .map(|r| format!("{}:{}", r["technique"].as_str().unwrap(), r["requests"]))
            .collect();
        if channels.is_empty() {
            assert!(!fig.contains_key("channels"), "{page}");
        } else {
            assert_eq!(fig["channels"], channels.join(","), "{page}");
        }
        let findings: Vec<String> = json_lines(&["check", "--format", "json", cap])
            .into_iter()
            .filter(|r| r["type"] == "finding")
            .map(|r| r["code"].as_str().unwrap().to_string())
            .collect();
        let mut ours: Vec<&str> = fig["findings"]
            .split(',')
            .filter(|s| !s.is_empty())
            .collect();
        let mut theirs: Vec<&str> = findings.iter().map(String::as_str).collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(ours, theirs, "{page}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Chapters 1-5 are the push techniques, in the course's order: each
/// chapter's capture holds the technique it teaches, as `push` names it.
#[test]
fn push_chapters_show_their_technique() {
    let dir = lesson_dir("push");
    let pages = chapter_pages(&dir);
    for (page, technique) in pages.iter().zip([
        "plain",
        "polling",
        "long-polling",
        "iframe-streaming",
        "sse",
    ]) {
        let html = std::fs::read_to_string(dir.join(page)).unwrap();
        let fig = figures(&html);
        assert!(
            fig["channels"]
                .split(',')
                .any(|c| c.split(':').next() == Some(technique)),
            "{page}: no {technique} channel in {}",
            fig["channels"]
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn required_words_are_in_their_chapters() {
    let dir = lesson_dir("words");
    let pages = chapter_pages(&dir);
    let read = |i: usize| std::fs::read_to_string(dir.join(&pages[i])).unwrap();
    // The upgrade chapter: Sec-WebSocket-Accept, and the accept computed.
    let up = read(5);
    assert!(up.contains("Sec-WebSocket-Accept"));
    assert!(up.contains("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
    // permessage-deflate: deflate, in the lesson text and the negotiation.
    let de = read(8).to_lowercase();
    assert!(de.matches("deflate").count() >= 3);
    assert!(de.contains("client_no_context_takeover"));
    // The close chapter: close codes, with the code of the capture's close
    // frames, and the codes RFC 6455 section 7.4.1 forbids on the wire.
    let cl = read(9);
    assert!(cl.to_lowercase().contains("close codes"));
    let cap = dir.join("captures/c-close-3000.pcap");
    let codes: Vec<String> = json_lines(&["frames", "--format", "json", cap.to_str().unwrap()])
        .into_iter()
        .filter(|r| r["opcode_name"] == "close")
        .map(|r| r["close_code"].to_string())
        .collect();
    assert!(!codes.is_empty());
    for c in &codes {
        assert!(cl.contains(&format!("data-close-code=\"{c}\"")), "{c}");
    }
    for never in [1005, 1006, 1015] {
        let row = &cl[cl.find(&format!("data-close-code=\"{never}\"")).unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(row.contains("never"), "{never}: {row}");
    }
    for may in [1000, 1001, 1002, 1011, 3000, 4000] {
        let row = &cl[cl.find(&format!("data-close-code=\"{may}\"")).unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(row.contains("may be sent"), "{may}: {row}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Chapter 11: the hand-written server's log (written beside the capture)
/// against the frames on the wire. The server read 125 right and took the
/// 126-byte frame's 7-bit field, 126, for its length; on the wire the
/// frame is 126 bytes in the 16-bit form, and the server's echo is cut
/// short (the capture ends inside the frame the client waits for).
#[test]
fn handwritten_server_chapter_sets_its_log_beside_the_wire() {
    let dir = lesson_dir("server");
    let pages = chapter_pages(&dir);
    let html = std::fs::read_to_string(dir.join(&pages[10])).unwrap();
    let log = std::fs::read_to_string(dir.join("captures/handwritten-server.log")).unwrap();
    let reads: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["who"] == "server" && v["event"] == "recv")
        .collect();
    let cap = dir.join("captures/handwritten-server.pcap");
    let client: Vec<Value> = json_lines(&["frames", "--format", "json", cap.to_str().unwrap()])
        .into_iter()
        .filter(|r| r["type"] == "frame" && r["from"] == "client")
        .collect();
    let server_len = attrs(&html, "data-server-length");
    let wire_len = attrs(&html, "data-wire-length");
    assert_eq!(server_len.len(), reads.len());
    for (i, r) in reads.iter().enumerate() {
        assert_eq!(server_len[i], r["length_read"].to_string());
        assert_eq!(wire_len[i], client[i]["payload_len"].to_string());
    }
    // The 126-byte message: the server read 126 from the 7-bit field and
    // took the extended length's bytes (00 7e) for the start of its key.
    let i = client.iter().position(|f| f["payload_len"] == 126).unwrap();
    let key = client[i]["mask_key"].as_str().unwrap();
    let read_key = reads[i]["mask_read"].as_str().unwrap();
    assert_eq!(&read_key[..4], "007e");
    assert_eq!(&read_key[4..], &key[..4]);
    assert!(html.contains(&format!("<code>{read_key}</code>")));
    // The server's echo of it is a frame the capture ends inside.
    let checks = json_lines(&["check", "--format", "json", cap.to_str().unwrap()]);
    assert!(
        checks
            .iter()
            .any(|r| r["code"] == "stream.incomplete-frame" && r["from"] == "server")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn text_has_the_same_chapters_in_order_and_no_control_bytes() {
    let dir = lesson_dir("text");
    let titles: Vec<String> = chapter_pages(&dir)
        .iter()
        .map(|p| {
            let html = std::fs::read_to_string(dir.join(p)).unwrap();
            first_element_text(&html, "h1")
        })
        .collect();
    let out = bin(&["lesson", "--format", "text"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let heads: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Chapter "))
        .filter_map(|l| l.split_once(": "))
        .map(|(n, t)| format!("{n}. {t}"))
        .collect();
    assert_eq!(heads, titles);
    for c in text.chars() {
        assert!(
            c == '\n' || !(c.is_control()),
            "control character {:?} in the text",
            c
        );
    }
    // The figures in the text are the pages' own.
    let six = std::fs::read_to_string(dir.join(chapter_pages(&dir)[5].clone())).unwrap();
    let accept = figures(&six)["accept"].clone();
    assert!(text.contains(&format!("Sec-WebSocket-Accept {accept}")));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The command a chapter names for its walkthrough, run in `dir`.
fn explain_in(dir: &Path, html: &str, format: &str) -> String {
    let start = html.find("<code class=\"explain-command\">").unwrap();
    let cmd = &html[start..];
    let cmd = unescape(&cmd[cmd.find('>').unwrap() + 1..cmd.find("</code>").unwrap()]);
    let mut args: Vec<&str> = cmd.split(' ').collect();
    assert_eq!(args.remove(0), "wsdissect");
    args.extend(["--format", format, "--color", "never"]);
    let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(&args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{cmd}");
    String::from_utf8(out.stdout).unwrap()
}

/// The walkthrough in each chapter is `explain`'s own output for the
/// capture written beside it, as the chapter's command gives it: the HTML
/// page's body unchanged between the lesson's section and its bottom
/// links (but for its title, an <h2> under the chapter's <h1>), explain's
/// stylesheet kept; the text walkthrough verbatim in the
/// text course.
#[test]
fn chapters_hold_explains_own_walkthrough() {
    let dir = lesson_dir("explain");
    let text = String::from_utf8(bin(&["lesson", "--format", "text"]).stdout).unwrap();
    for page in chapter_pages(&dir) {
        let html = std::fs::read_to_string(dir.join(&page)).unwrap();
        let ex = explain_in(&dir, &html, "html");
        let (ex_head, ex_body) = ex.split_once("<body>").unwrap();
        let style = &ex_head[ex_head.find("<style>").unwrap()..];
        let style = &style[..style.find("</style>").unwrap() + "</style>".len()];
        assert!(html.contains(style), "{page}: explain's stylesheet");
        let body = &html[html.find("<body>").unwrap() + "<body>".len()..];
        let body = &body[body.find("</section>\n").unwrap() + "</section>\n".len()..];
        let bottom = body
            .find("<nav class=\"lesson-nav\" id=\"lesson-bottom\"")
            .unwrap();
        let end = bottom + body[bottom..].find("</nav>\n").unwrap() + "</nav>\n".len();
        let body = format!("{}{}", &body[..bottom], &body[end..]);
        // explain's title, the one change: a level below the chapter's.
        let ex_body = ex_body
            .replacen("<h1>", "<h2>", 1)
            .replacen("</h1>", "</h2>", 1);
        assert_eq!(body, ex_body, "{page}");
        let ex_text = explain_in(&dir, &html, "text");
        assert!(
            text.contains(&ex_text),
            "{page}: the text course lacks its walkthrough"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_o_or_with_an_unwritable_o_one_line_and_exit_2() {
    let file = std::env::temp_dir().join(format!("wsdissect-lesson-file-{}", std::process::id()));
    std::fs::write(&file, b"not a directory").unwrap();
    let under_file = file.join("lesson");
    for args in [
        vec!["lesson"],
        vec!["lesson", "-o", under_file.to_str().unwrap()],
        vec!["lesson", "--format", "text", "-o", "/tmp"],
    ] {
        let out = bin(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("wsdissect: "), "{err}");
        assert!(out.stdout.is_empty());
    }
    let _ = std::fs::remove_file(&file);
}

/// Every page in headless Chromium (Debian's /usr/bin/chromium, driven by
/// playwright-core from tests/browser/): renders, no console error, no
/// request but the page itself, the lesson and the walkthrough both there,
/// and the "next" link leads to the next chapter.
#[test]
fn every_page_renders_in_headless_chromium() {
    if !Path::new("/usr/bin/chromium").exists() {
        eprintln!(
            "skipped: /usr/bin/chromium is not installed (scripts/setup-browser-deps.sh installs it)"
        );
        return;
    }
    let browser = root().join("tests/browser");
    assert!(
        browser.join("node_modules/playwright-core").exists(),
        "chromium is here but playwright-core is not: run scripts/setup-browser-deps.sh"
    );
    let dir = lesson_dir("browser");
    let pages = chapter_pages(&dir);
    let spec = serde_json::json!({
        "dir": dir,
        "pages": pages,
        "titles": ORDER,
    });
    let spec_path = dir.join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let out = Command::new("timeout")
        .arg("300")
        .arg("node")
        .arg(browser.join("lesson.mjs"))
        .arg(&spec_path)
        .current_dir(&browser)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        pages.len() + 1,
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
