#!/usr/bin/env python3
"""Instruction counts (Ir) of a callgrind profile, by wsdissect stage
(docs/performance.md says how the profiles are made).

The binary needs line tables (CARGO_PROFILE_RELEASE_DEBUG=line-tables-only)
for inlined code to be told apart; without them everything inlined counts in
the function it was inlined into.

Self cost goes to the stage of the source file the instruction came from
(inlined code counts where it was written), or, for generic library code
(core/alloc/std, stdarch intrinsics), to the stage of the function it was
inlined into. Leaf helpers that are functions of their own (libc memcpy and
malloc, memchr, hashbrown lookups, SocketAddr hashing, from_utf8, Vec
growth, itoa/zmij number formatting) are charged, inclusively, to the call
site that called them. The total agrees with callgrind's to within ~1%
(startup code in ld.so is left out; a leaf that calls back is counted twice).

usage: python3 examples/callgrind_stages.py CALLGRIND.OUT [--fns N]
  --fns N  also list the N functions (with what was inlined into them) that
           cost most, with their stage
"""
import re, sys, collections

FILE_STAGES = [
    (r'pcap-parser|circular-|src/capture\.rs|src/progress\.rs', 'capture read'),
    (r'etherparse|src/packet\.rs|src/defrag\.rs', 'packet slicing'),
    (r'src/analyzer\.rs|src/flow\.rs|src/pipeline\.rs|src/tcp\.rs|foldhash|hashbrown|socket_addr\.rs', 'flow table, TCP reassembly'),
    (r'src/tlscore/|src/tls\.rs|/aes-|/aes-gcm-|/polyval-|/ghash-|/universal-hash-|/hkdf-|/hmac-|/sha2-|/ctr-|/chacha20|/poly1305-', 'TLS'),
    (r'src/carrier/|src/stage/|src/h2/', 'carriers, stages'),
    (r'src/http\.rs|src/handshake\.rs|httparse|sha1|base64|src/push/', 'HTTP, handshake'),
    (r'src/ws/utf8\.rs|simdutf8|str/validations\.rs|str/lossy\.rs', 'UTF-8'),
    (r'src/ws/|flate2|zlib', 'WebSocket frames, unmasking'),
    (r'serde_json|serde_core|itoa|zmij|src/render/|src/event\.rs|src/findings\.rs|src/main\.rs|src/lib\.rs', 'output (JSON, check, events)'),
    (r'examples/floor\.rs', 'floor loop'),
]
FN_STAGES = [
    (r'pcap_parser|circular::|wsdissect::capture', 'capture read'),
    (r'etherparse|wsdissect::packet|wsdissect::defrag', 'packet slicing'),
    (r'wsdissect::analyzer|wsdissect::flow|wsdissect::pipeline|wsdissect::tcp|hashbrown|SocketAddr', 'flow table, TCP reassembly'),
    (r'wsdissect::tlscore|wsdissect::tls::|aes::|aes_gcm|polyval|ghash|universal_hash|hkdf|hmac|sha2::', 'TLS'),
    (r'wsdissect::carrier|wsdissect::stage|wsdissect::h2', 'carriers, stages'),
    (r'wsdissect::http|wsdissect::handshake|httparse|sha1|base64|wsdissect::push', 'HTTP, handshake'),
    (r'simdutf8|wsdissect::ws::utf8|from_utf8', 'UTF-8'),
    (r'wsdissect::ws::', 'WebSocket frames, unmasking'),
    (r'serde|itoa|zmij|wsdissect::render|JsonSink|CheckSink|WatchWs|wsdissect::event|wsdissect::findings|memchr', 'output (JSON, check, events)'),
    (r'floor::', 'floor loop'),
]
LEAF = re.compile(r'^(__mem|_int_|malloc|free|realloc|cfree|__rustc::|memchr::|hashbrown::|<core::net::socket_addr|core::str::converts::from_utf8|alloc::raw_vec|<alloc::raw_vec|<u64 as itoa|<u32 as itoa|<u16 as itoa|<f64 as zmij|alloc::alloc::|__rust_alloc|__rust_dealloc|__rust_realloc|__rdl_)')

LIBC_LEAF = re.compile(r'^(__)?(mem|str|malloc|free|realloc|calloc|cfree|_int_|libc_(malloc|free|realloc|calloc)|read|write|__GI_)')


def stage(file, fn):
    for pat, s in FILE_STAGES:
        if re.search(pat, file):
            return s
    for pat, s in FN_STAGES:
        if re.search(pat, fn):
            return s
    return 'other (startup, std, libc)'

files, fns, objs = {}, {}, {}
def named(table, v):
    m = re.match(r'\((\d+)\)(?: (.*))?$', v)
    if not m:
        return v
    if m.group(2) is not None:
        table[m.group(1)] = m.group(2)
    return table.get(m.group(1), '?')

by_stage = collections.Counter()
by_fn = collections.Counter()  # (stage, outer fn) -> Ir
total = 0
fl = cur = fn = obj = '?'
callee = callee_obj = None
in_call = False
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    if not line or line[0] == '#':
        continue
    key, _, val = line.partition('=')
    if key in ('fl', 'fi', 'fe', 'cfi', 'cfl', 'fn', 'cfn', 'ob', 'cob') and _:
        if key in ('fl', 'fi', 'fe', 'cfi', 'cfl'):
            v = named(files, val)
            if key == 'fl':
                fl = cur = v
            elif key in ('fi', 'fe'):
                cur = v
        elif key in ('fn', 'cfn'):
            v = named(fns, val)
            if key == 'fn':
                fn, cur, callee_obj = v, fl, None
            else:
                callee = v
        else:
            v = named(objs, val)
            if key == 'ob':
                obj = v
            else:
                callee_obj = v
        continue
    if key == 'calls':
        in_call = True
        continue
    c = line[0]
    if not (c.isdigit() or c in '+-*'):
        continue
    ir = int(line.split()[-1]) if len(line.split()) > 1 else 0
    fn_is_leaf = bool(LEAF.match(fn)) or 'libc.so' in obj or 'ld-linux' in obj
    if in_call:
        in_call = False
        cobj = callee_obj or obj
        if not fn_is_leaf and (LEAF.match(callee or '') or ('libc.so' in cobj and LIBC_LEAF.match(callee or ''))):
            s = stage(cur, fn)
            by_stage[s] += ir
            by_fn[(s, fn)] += ir
            total += ir
        callee_obj = None
        continue
    if fn_is_leaf:
        continue
    s = stage(cur, fn)
    by_stage[s] += ir
    by_fn[(s, fn)] += ir
    total += ir

print(f'{total:,} Ir attributed')
for s, v in by_stage.most_common():
    print(f'{v:>14,} {100 * v / total:5.1f}%  {s}')
if '--fns' in sys.argv:
    n = int(sys.argv[sys.argv.index('--fns') + 1])
    print()
    for (s, f), v in by_fn.most_common(n):
        print(f'{v:>14,} {100 * v / total:5.1f}%  [{s}] {f[:110]}')
