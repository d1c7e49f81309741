#!/usr/bin/env bash
# The browser-facing figures of issue 7, printed:
#   - the release site's wasm (raw and gzip), JS and CSS sizes;
#   - the server render time of the datasources list with 1,000 datasources (median and p95 of
#     RUNS requests, with the session cookie, as a browser asks for the page);
#   - time to interactive of that page in headless Chromium: from navigation start to the
#     moment the WebAssembly has hydrated it (the app stamps `data-hydrated-at`), median of
#     LOADS loads, with a cold cache (a new browser context per load) and a warm one.
# Needs a release build (scripts/run or `cargo leptos build --release`), Chromium and the
# end2end node modules (scripts/test installs both).
#
# BASELINE_BIN=path/to/another/tributary measures that binary's render of the same pages on the
# same data beside this one's, alternating ROUNDS times (default 3), and prints the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-50}"; LOADS="${LOADS:-10}"; COUNT="${COUNT:-1000}"; PORT="${PORT:-3040}"
bin=target/release/tributary
[ -x "$bin" ] && [ -d target/site/pkg ] || { echo "build first: cargo leptos build --release"; exit 1; }

echo "== release site sizes"
scripts/sizes

data=$(mktemp -d)
export TRIBUTARY_DATA_DIR="$data" TRIBUTARY_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn
export TRIBUTARY_ADMIN_EMAIL=bench@example.com TRIBUTARY_ADMIN_PASSWORD=bench-password
export LEPTOS_SITE_ROOT="$PWD/target/site" TRIBUTARY_WORKERS=0
start() {
  "$1" >>"$data/log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do curl -fs "$base/health" >/dev/null && return; sleep 0.2; done
  echo "the server did not start"; cat "$data/log"; exit 1
}
stop() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
base="http://127.0.0.1:$PORT"
start "$bin"
trap 'stop; rm -rf "$data"' EXIT
token=$(curl -fs "$base/api/@login" -d '{"username":"bench@example.com","password":"bench-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

echo "== seeding $COUNT datasources"
python3 - "$base" "$token" "$COUNT" <<'PY'
import json, sys, urllib.request
base, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
def call(path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(req))
ids = []
for i in range(count):
    kind = ["S3Datasource", "DropboxDatasource", "SlackDatasource"][i % 3]
    body = {"@type": kind, "title": f"Datasource {i:04d}", "type_sync": ["auto", "arch", "one"][i % 3]}
    if kind == "S3Datasource":
        body["bucket"] = f"bucket-{i:04d}"
    ids.append(call("/api/datasources", body)["id"])
# A quarter paused, so the counts and badges vary.
for start in range(0, len(ids) // 4, 100):
    call("/api/datasources/@bulk", {"action": "pause", "ids": ids[start:start + 100]})
PY

# Median render of $1 in ms, over RUNS requests after three warm-ups.
render() {
  for _ in 1 2 3; do curl -fs -o /dev/null -H "Cookie: tributary_session=$token" "$base$1"; done
  for _ in $(seq "$RUNS"); do
    curl -fs -o /dev/null -w '%{time_total}\n' -H "Cookie: tributary_session=$token" "$base$1"
  done | sort -n | awk '{a[NR]=$1*1000} END {printf "%.2f %.2f", a[int((NR+1)/2)], a[int(NR*0.95)]}'
}

echo "== server render of /datasources ($COUNT datasources, $RUNS requests)"
for path in "/datasources" "/datasources?sort=status&type_sync=auto"; do
  read -r med p95 <<<"$(render "$path")"
  printf "  GET %-40s median %6.2f ms   p95 %6.2f ms   (target: median < 30 ms)\n" "$path" "$med" "$p95"
done

if [ -n "${BASELINE_BIN:-}" ]; then
  echo "== beside the baseline $BASELINE_BIN (same data, ${ROUNDS:-3} alternating rounds, median of each)"
  for round in $(seq "${ROUNDS:-3}"); do
    for who in baseline this; do
      stop
      if [ "$who" = baseline ]; then start "$BASELINE_BIN"; else start "$bin"; fi
      read -r med _ <<<"$(render /datasources)"
      printf "  round %s  %-8s GET /datasources median %6.2f ms\n" "$round" "$who" "$med"
      echo "$who $med" >>"$data/ab"
    done
  done
  median_of() { awk -v w="$1" '$1 == w {print $2}' "$data/ab" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  old=$(median_of baseline); new=$(median_of this)
  awk -v o="$old" -v n="$new" 'BEGIN {printf "  median of rounds: baseline %.2f ms, this %.2f ms: %.2fx\n", o, n, n / o}'
fi

echo "== time to interactive of /datasources in headless Chromium ($LOADS loads)"
(cd end2end && BASE_URL="$base" TOKEN="$token" LOADS="$LOADS" node bench/tti.mjs)
