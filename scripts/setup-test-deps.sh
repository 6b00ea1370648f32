#!/usr/bin/env bash
# Installs what the build and the test suite need beyond Rust, where it is
# missing: libpcap's headers and library (libpcap-dev), which the default
# `live` feature (`-i IFACE`) links against;
# tcpdump and Python's websockets for tests/live.rs (a real capture piped
# into wsdissect while a real client and server talk on loopback), and
# tshark, the reference the TLS tests compare decrypted bytes with (they
# skip that comparison without it); g++ for libfuzzer-sys, which the
# fuzz targets' compile check builds.
# Idempotent and quick when everything is there; run as root (CI is).
# Without root it only reports what is missing (the live test then skips).
set -euo pipefail

missing_apt=()
[ -e /usr/include/pcap/pcap.h ] || [ -e /usr/include/pcap.h ] || missing_apt+=(libpcap-dev)
command -v tcpdump >/dev/null 2>&1 || missing_apt+=(tcpdump)
# `ip netns`: the -i tests capture on the loopback of a namespace of their own.
command -v ip >/dev/null 2>&1 || missing_apt+=(iproute2)
command -v tshark >/dev/null 2>&1 || missing_apt+=(tshark)
command -v python3 >/dev/null 2>&1 || missing_apt+=(python3 python3-pip)
# The fuzz targets' compile check (.ci/run): libfuzzer-sys builds libFuzzer, in C++.
command -v c++ >/dev/null 2>&1 || missing_apt+=(g++)

if [ ${#missing_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup-test-deps: installing ${missing_apt[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${missing_apt[@]}" >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null 2>&1 || true
      apt-get install -y -qq "${missing_apt[@]}" >/dev/null \
        || echo "setup-test-deps: could not install ${missing_apt[*]}" >&2
    }
  else
    echo "setup-test-deps: missing ${missing_apt[*]} (not root or no apt-get)" >&2
  fi
fi

if ! python3 -c 'import websockets.asyncio.server' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup-test-deps: installing python websockets" >&2
    python3 -m pip install -q 'websockets>=14' 2>/dev/null \
      || python3 -m pip install -q --break-system-packages 'websockets>=14' \
      || { apt-get install -y -qq python3-websockets >/dev/null 2>&1 || true; }
  else
    echo "setup-test-deps: python websockets is missing (pip install websockets)" >&2
  fi
fi
