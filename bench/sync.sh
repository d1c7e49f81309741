#!/usr/bin/env bash
# Folder sync beside rclone on the shared corpus (../shared/bench/gen_corpus.py), in one run.
# Generates the corpora once under /tmp, installs rclone if missing, prints per-run figures and
# medians with ratios. MEMORY=1 also compares peak memory for 20,000 and 200,000 files.
#   bench/sync.sh                 # RUNS=3
#   RUNS=5 MEMORY=1 bench/sync.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
command -v rclone >/dev/null || apt_install rclone
gen=../shared/bench/gen_corpus.py
corpus=/tmp/tributary-corpus-20k
[ -d "$corpus" ] || python3 "$gen" generate "$corpus" --files 20000
export CORPUS="$corpus"
if [ "${MEMORY:-0}" = 1 ]; then
  small=/tmp/tributary-corpus-mem-20k big=/tmp/tributary-corpus-mem-200k
  [ -d "$small" ] || python3 "$gen" generate "$small" --files 20000 --avg-bytes 500
  [ -d "$big" ] || python3 "$gen" generate "$big" --files 200000 --avg-bytes 500
  export MEMORY_CORPORA="$small:$big"
fi
RUST_LOG=warn cargo bench -p engine --bench folder_sync
