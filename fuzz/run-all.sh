#!/usr/bin/env bash
# Runs fuzz targets for SECONDS each (default 600), one after another,
# on the stable toolchain (RUSTC_BOOTSTRAP lets cargo fuzz pass its -Z flags).
#   cargo install cargo-fuzz && fuzz/seed.sh && fuzz/run-all.sh [SECONDS] [TARGET...]
# Without targets, every target runs. A target with a dictionary
# (fuzz/TARGET.dict) uses it. Logs go to fuzz/logs/TARGET.log; a crash
# stops with its input in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(frame_decoder http_handshake tcp_reassembly inflater pipeline
           tls_records keylog tls_detect h2_frames hpack filter defrag
           app_mqtt app_stomp app_socketio app_graphql)
fi
mkdir -p logs
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  dict=()
  if [ -f "$t.dict" ]; then dict=("-dict=$t.dict"); fi
  echo "== $t: ${secs}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$t" "corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "${dict[@]}" \
    > "logs/$t.log" 2>&1 || { echo "$t FAILED: see fuzz/logs/$t.log"; tail -30 "logs/$t.log"; exit 1; }
  grep -E "^#[0-9]+.*(DONE|cov)" "logs/$t.log" | tail -1
done
