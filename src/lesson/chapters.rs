//! The course, chapter by chapter: the teaching text and the bundled capture
//! each chapter walks through. The captures are real recordings from
//! `samples/` (see `samples/README.md` for how each was made), built into
//! the binary.

/// A capture built into the binary.
#[derive(Debug)]
pub struct Capture {
    /// Its file name as `lesson` writes it out (under `captures/`).
    pub name: &'static str,
    /// Where it lives in the repository.
    pub source: &'static str,
    /// How it was recorded, in a sentence.
    pub made: &'static str,
    /// The capture's bytes.
    pub bytes: &'static [u8],
}

/// One chapter of the course.
#[derive(Debug)]
pub struct Chapter {
    /// Short name, for the page's file name.
    pub slug: &'static str,
    pub title: &'static str,
    /// Minutes to give it in class.
    pub minutes: u32,
    /// What the chapter teaches, in a paragraph.
    pub intro: &'static str,
    /// What to look for in the capture.
    pub look_for: &'static [&'static str],
    /// A question for the class.
    pub question: &'static str,
    pub capture: &'static Capture,
    /// Frames shown in detail (the rest are counted); 200 is `explain`'s default.
    pub max_frames: usize,
}

pub static CHROMIUM_IFRAME: Capture = Capture {
    name: "chromium-iframe.pcap",
    source: "samples/push/chromium-iframe.pcap",
    made: "headless Chromium loads a page with a hidden iframe from a Node http server on loopback",
    bytes: include_bytes!("../../samples/push/chromium-iframe.pcap"),
};

pub static NODE_POLL: Capture = Capture {
    name: "node-poll.pcap",
    source: "samples/push/node-poll.pcap",
    made: "a Node fetch client polls a Node http server every 500 ms, on loopback",
    bytes: include_bytes!("../../samples/push/node-poll.pcap"),
};

pub static NODE_LONGPOLL: Capture = Capture {
    name: "node-longpoll.pcap",
    source: "samples/push/node-longpoll.pcap",
    made: "a Node fetch client long-polls a Node http server that has news every 700 ms, on loopback",
    bytes: include_bytes!("../../samples/push/node-longpoll.pcap"),
};

pub static PYTHON_SSE: Capture = Capture {
    name: "python-sse.pcap",
    source: "samples/push/python-sse.pcap",
    made: "an EventSource-like Python client against a Node http server sending an event stream, on loopback",
    bytes: include_bytes!("../../samples/push/python-sse.pcap"),
};

pub static PYTHON_ECHO: Capture = Capture {
    name: "python-echo.pcap",
    source: "samples/python-echo.pcap",
    made: "a Python websockets client and echo server, on loopback",
    bytes: include_bytes!("../../samples/python-echo.pcap"),
};

pub static NODE_FRAGMENTS: Capture = Capture {
    name: "node-fragments.pcap",
    source: "samples/node-fragments.pcap",
    made: "a Node ws client sending fragmented messages and pings to a Node ws server, on loopback",
    bytes: include_bytes!("../../samples/node-fragments.pcap"),
};

pub static DEFLATE_NCT_CLIENT: Capture = Capture {
    name: "websockets-nct-client.pcap",
    source: "samples/deflate/websockets-nct-client.pcap",
    made: "a Python websockets client and echo server that negotiate permessage-deflate with client_no_context_takeover, on loopback",
    bytes: include_bytes!("../../samples/deflate/websockets-nct-client.pcap"),
};

pub static CLOSE_3000: Capture = Capture {
    name: "c-close-3000.pcap",
    source: "samples/violations/c-close-3000.pcap",
    made: "a raw-socket client closes with code 3000 and a reason; a Node ws server answers, on loopback",
    bytes: include_bytes!("../../samples/violations/c-close-3000.pcap"),
};

pub static HANDWRITTEN: Capture = Capture {
    name: "handwritten-server.pcap",
    source: "samples/lesson/handwritten-server.pcap",
    made: "the course's hand-written Python socket server against a Python websockets client sending 125 and 126 bytes, on loopback",
    bytes: include_bytes!("../../samples/lesson/handwritten-server.pcap"),
};

/// What the hand-written server logged (JSON lines): what it read and sent.
pub const HANDWRITTEN_LOG: &str = include_str!("../../samples/lesson/handwritten-server.log");
/// The log's name as `lesson` writes it out, beside the capture.
pub const HANDWRITTEN_LOG_NAME: &str = "handwritten-server.log";

/// The course, in order.
pub static CHAPTERS: [Chapter; 11] = [
    Chapter {
        slug: "request-response",
        title: "HTTP request-response",
        minutes: 5,
        intro: "Everything in this course starts with one HTTP exchange. The browser opens a TCP connection and sends a request (a method, a path, headers); the server answers with a status line, headers and a body, and that exchange is over. The server only ever answers: it cannot speak first.",
        look_for: &[
            "The channels marked plain: GET /page (the page itself) and GET /favicon.ico, one request and one response each.",
            "The time between a request and its response: the server's work plus one round trip.",
            "The third channel, GET /iframe, is chapter 4's: leave it for now.",
        ],
        question: "The server learns some news between two of the browser's requests. With nothing but request-response, how can the browser find out, and how late?",
        capture: &CHROMIUM_IFRAME,
        max_frames: 200,
    },
    Chapter {
        slug: "short-polling",
        title: "Short polling",
        minutes: 10,
        intro: "The simplest answer: ask again, and again, at a fixed interval. Every request is answered at once, with news or without. The timeline shows the rhythm: a request, its response a millisecond later, and silence until the next tick.",
        look_for: &[
            "The interval between requests (about 500 ms here) and how steady it is.",
            "Each response arrives about a millisecond after its request: the server has nothing to wait for.",
            "Every request costs a full set of HTTP headers, whether or not there was news.",
        ],
        question: "With news once a minute and a poll every 500 ms, how many requests are wasted? What is the longest the browser can wait to hear the news?",
        capture: &NODE_POLL,
        max_frames: 200,
    },
    Chapter {
        slug: "long-polling",
        title: "Long polling",
        minutes: 10,
        intro: "The server holds each request open until it has news, then answers; the client asks again at once. The news arrives as soon as it exists, and a request is spent only per piece of news.",
        look_for: &[
            "The hold: the time from each request to its response (about 0.6 s here), set by the server's news, not by the client.",
            "The next request follows the response at once, on the same TCP connection (HTTP keep-alive).",
            "How the tool tells this from short polling: the held responses, measured against the connection's round-trip time.",
        ],
        question: "Compared with short polling, what happens to the delay of the news and to the number of requests? What if two pieces of news come a millisecond apart?",
        capture: &NODE_LONGPOLL,
        max_frames: 200,
    },
    Chapter {
        slug: "iframe-streaming",
        title: "Hidden-iframe streaming",
        minutes: 10,
        intro: "The \"forever frame\": the page loads a hidden iframe whose response never seems to end. It is a chunked text/html response, and every chunk is a <script> that calls a function of the parent page. One request, many pushes.",
        look_for: &[
            "One request to /iframe and one long-lived response: chunked text/html, open for about 1.8 s.",
            "The <script> pieces, one every 300 ms, each in its own chunk.",
            "The page and the favicon around it are plain request-response (chapter 1).",
        ],
        question: "Why does the server send its data as <script> tags and not as plain text? What tells the browser that the response is over?",
        capture: &CHROMIUM_IFRAME,
        max_frames: 200,
    },
    Chapter {
        slug: "sse",
        title: "Server-Sent Events",
        minutes: 15,
        intro: "EventSource standardises the streaming response: Content-Type text/event-stream, each event a few \"data:\" lines ended by a blank line, \"id:\" to resume from, \"retry:\" for the reconnection delay. When the stream ends, the browser reconnects by itself and says where it stopped (Last-Event-ID).",
        look_for: &[
            "The events and their ids, named events, a comment, multi-line data.",
            "The reconnections after the retry time, each carrying Last-Event-ID.",
            "The 204 at the end: the server's way of saying \"do not reconnect\".",
        ],
        question: "SSE goes one way only. How does the browser send something to the server in an SSE application? What does Last-Event-ID save the server from?",
        capture: &PYTHON_SSE,
        max_frames: 200,
    },
    Chapter {
        slug: "websocket-upgrade",
        title: "The WebSocket upgrade",
        minutes: 15,
        intro: "WebSocket starts as HTTP: a GET with Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Version: 13 and a random Sec-WebSocket-Key. The server answers 101 Switching Protocols with Sec-WebSocket-Accept, base64(SHA-1(key + GUID)), the GUID being the fixed 258EAFA5-E914-47DA-95CA-C5AB0DC85B11. From the next byte on, both sides speak WebSocket frames on the same TCP connection.",
        look_for: &[
            "The request's headers and what each one is for.",
            "Sec-WebSocket-Accept computed step by step from the key: key + GUID, SHA-1, base64; compare with what the server sent.",
            "The first frame right after the 101, in the same TCP connection.",
        ],
        question: "Why must the server prove that it read the key? What would a plain HTTP server, or a cache on the way, do with this request?",
        capture: &PYTHON_ECHO,
        max_frames: 4,
    },
    Chapter {
        slug: "frames",
        title: "Frames: the header bits",
        minutes: 15,
        intro: "Every message travels in frames: 2 to 14 bytes of header, then the payload. The header's bits: FIN (last fragment), RSV1-3 (for extensions), the opcode (0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong), MASK, and a 7-bit length that says 126 for a 16-bit length to follow and 127 for a 64-bit one.",
        look_for: &[
            "A text message in 4 fragments: FIN 0, 0, 0 then 1; opcode text, then continuation.",
            "Pings between the fragments: control frames may come in the middle of a message, and are never fragmented.",
            "Fifty short messages in one TCP segment: the lengths alone say where each frame ends.",
        ],
        question: "Why may a ping arrive in the middle of a fragmented message while a text frame may not? How does a receiver find where each frame ends in a segment carrying fifty?",
        capture: &NODE_FRAGMENTS,
        max_frames: 24,
    },
    Chapter {
        slug: "masking",
        title: "Masking",
        minutes: 10,
        intro: "Every frame from the client is masked: the header carries a 4-byte masking key, and payload byte i is sent XORed with key[i mod 4]. Frames from the server are never masked. The receiver XORs again to get the bytes back.",
        look_for: &[
            "The MASK bit: 1 on every client frame, 0 on every server frame.",
            "The unmasking table of the first frame, \"Hello\": masked byte XOR key byte = clear byte.",
            "A new key in every client frame.",
        ],
        question: "The key travels in the frame, so masking hides nothing from an eavesdropper. Which attack does it prevent (RFC 6455 section 10.3)?",
        capture: &PYTHON_ECHO,
        max_frames: 24,
    },
    Chapter {
        slug: "permessage-deflate",
        title: "permessage-deflate",
        minutes: 10,
        intro: "The extension permessage-deflate (RFC 7692), offered in Sec-WebSocket-Extensions, compresses each message with DEFLATE. RSV1 marks the first frame of a compressed message; its payload is a deflate stream whose final 00 00 ff ff is left off. With context takeover a side keeps its deflate window from message to message, so text it already sent compresses to a back-reference. Here the client offered client_no_context_takeover and the server accepted: the client starts every message from an empty window, the server does not.",
        look_for: &[
            "The negotiated deflate parameters in the handshake: client_no_context_takeover.",
            "RSV1 = 1 on the first frame of each compressed message, 0 on the continuations.",
            "\"Hello\" sent twice: the client's frames are 7 bytes both times, the server's echo shrinks from 7 to 5 the second time (its window still holds the first \"Hello\").",
        ],
        question: "Why can a repeated message compress to fewer bytes the second time? What does client_no_context_takeover save the server, and what does it cost?",
        capture: &DEFLATE_NCT_CLIENT,
        max_frames: 30,
    },
    Chapter {
        slug: "close-codes",
        title: "Close codes",
        minutes: 5,
        intro: "A WebSocket connection ends with a close handshake: a close frame (opcode 8) carrying a 2-byte close code and an optional UTF-8 reason, answered by a close frame from the other side; then the server closes the TCP connection. The close codes say why.",
        look_for: &[
            "The close frame's code (3000, a code registered for libraries) and its reason.",
            "The server's answering close frame, then the TCP FIN.",
            "The table of close codes below: which may be sent, which are reserved.",
        ],
        question: "Which close codes must never be sent in a close frame, and why do they exist? Why should the server, not the client, close the TCP connection first?",
        capture: &CLOSE_3000,
        max_frames: 24,
    },
    Chapter {
        slug: "handwritten-server",
        title: "A hand-written server's mistakes",
        minutes: 20,
        intro: "The course's own server: a plain TCP socket, the handshake done by hand, and a frame parser that reads the 7-bit length only. A real client sends it a 125-byte message, then a 126-byte one. At 126 the length field means \"the length is in the next 2 bytes\", and the server does not know it.",
        look_for: &[
            "The 125-byte message and its echo: both right.",
            "The 126-byte message: header 81 fe 00 7e, the length in the 16-bit form. The server took 00 7e and half the key as its masking key (see its log below), and unmasked garbage.",
            "Its echo: 81 7e and no extended length. The client reads the next two bytes of garbage as the length and waits for bytes that never come; the capture ends inside that frame.",
        ],
        question: "Fix the server: how many header bytes must it read before it knows where the payload starts, for each length form? What else goes wrong when one recv() is taken for one frame?",
        capture: &HANDWRITTEN,
        max_frames: 24,
    },
];
