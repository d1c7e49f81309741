#!/usr/bin/env bash
# An `auto` re-sync of the shared corpus from S3 after `gen_corpus.py mutate`, beside
# `rclone sync` from the same S3 server (moto_server on loopback), in one run. Loads the
# 20,000-file corpus into a fresh bucket, syncs both once, then RUNS times: mutates the folder
# (1% changed, 1% deleted), carries that over to the bucket, and times both re-syncs; checks that
# all three hold the same files. Prints per-run figures and medians with ratios.
#   bench/s3_sync.sh             # RUNS=3
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
command -v rclone >/dev/null || apt_install rclone
ensure_moto
gen=../shared/bench/gen_corpus.py
corpus=/tmp/tributary-corpus-20k
[ -d "$corpus" ] || python3 "$gen" generate "$corpus" --files 20000
work=$(mktemp -d -t tributary-s3bench-XXXXXX)
port="${S3_PORT:-5199}"
moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; wait $moto 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port" >/dev/null && break; sleep 0.2; done
cp -a "$corpus" "$work/src"
export S3_ENDPOINT="http://127.0.0.1:$port" S3_BUCKET=corpus S3_SRC="$work/src" S3_WORK="$work"
say "loading $(find "$work/src" -type f | wc -l) files into the bucket"
python3 bench/s3_mirror.py "$S3_ENDPOINT" "$S3_BUCKET" "$S3_SRC"
RUST_LOG=warn cargo bench -p engine --bench s3_sync
