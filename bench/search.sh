#!/usr/bin/env bash
# Search beside recoll on the shared corpus, in one run: sync + extraction + indexing of 20,000
# files beside recollindex, and query latency over HTTP on 100,000 files beside recollq.
# Generates the corpora once under /tmp; installs recoll if missing.
#   bench/search.sh                  # RUNS=3, QUERY_FILES=100000
#   RUNS=0 QUERY_WORK=/tmp/q bench/search.sh   # queries only, keeping the ingested corpus
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
command -v recollindex >/dev/null || apt_install recoll
gen=../shared/bench/gen_corpus.py
index_corpus=/tmp/tributary-corpus-20k
[ -d "$index_corpus" ] || python3 "$gen" generate "$index_corpus" --files 20000
files="${QUERY_FILES:-100000}"
query_corpus="/tmp/tributary-corpus-q$files"
[ -d "$query_corpus" ] || python3 "$gen" generate "$query_corpus" --files "$files" --avg-bytes 1500
export INDEX_CORPUS="$index_corpus" QUERY_CORPUS="$query_corpus"
RUST_LOG=warn cargo bench -p server --bench search
