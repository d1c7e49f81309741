#!/usr/bin/env bash
# Load run with wrk on loopback: GET one datasource and @getAllChildren (page of 20) beside the
# same server's static /health route, server and client pinned to different cores. Prints the
# median requests/s of RUNS runs per route and the ratios to /health. Needs a release build
# (scripts/run or `cargo leptos build --release`; BIN=path picks another binary) and Debian's wrk.
#   bench/load.sh                     # SQLite
#   DATABASE_URL=postgres://... bench/load.sh   # a throwaway database on that server, dropped after
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
RUNS="${RUNS:-3}"; DURATION="${DURATION:-8s}"; CONNS="${CONNS:-32}"; PORT="${PORT:-3030}"
bin="${BIN:-target/release/tributary}"
data=$(mktemp -d)
export TRIBUTARY_DATA_DIR="$data" TRIBUTARY_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn
export TRIBUTARY_ADMIN_EMAIL=bench@example.com TRIBUTARY_ADMIN_PASSWORD=bench-password
pg_admin="" pg_db=""
case "${DATABASE_URL:-}" in postgres*)
  pg_admin=$DATABASE_URL pg_db="tributary_load_$$"
  psql -q "$pg_admin" -c "create database $pg_db"
  export DATABASE_URL="${pg_admin%/*}/$pg_db";;
esac
taskset -c 0 "$bin" >"$data/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"; [ -z "$pg_db" ] || psql -q "$pg_admin" -c "drop database if exists $pg_db"' EXIT
base="http://127.0.0.1:$PORT"
for _ in $(seq 50); do curl -fs "$base/health" >/dev/null && break; sleep 0.2; done
token=$(curl -fs "$base/api/@login" -d '{"username":"bench@example.com","password":"bench-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
id=$(curl -fs -H "Authorization: Bearer $token" "$base/api/datasources" -d '{"@type":"S3Datasource","title":"load","bucket":"load"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$bin" seed-children "$id" --count 1000 >/dev/null

rate() { # url [auth] -> requests/s (median of RUNS); fails on any non-2xx or socket error
  local url=$1 auth=${2:-} out rates=()
  for _ in $(seq "$RUNS"); do
    if [ -n "$auth" ]; then
      out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" -H "Authorization: Bearer $auth" "$url")
    else
      out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" "$url")
    fi
    if grep -qE "Non-2xx|Socket errors" <<<"$out"; then echo "errors for $url:" >&2; echo "$out" >&2; exit 1; fi
    rates+=("$(awk '/Requests\/sec/ {print $2}' <<<"$out")")
  done
  printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
health=$(rate "$base/health")
one=$(rate "$base/api/datasources/$id" "$token")
children=$(rate "$base/api/datasources/$id/@getAllChildren?page_size=20" "$token")
backend=$(case "${DATABASE_URL:-sqlite}" in postgres*) echo postgres;; *) echo sqlite;; esac)
python3 - "$health" "$one" "$children" "$backend" "$RUNS" "$DURATION" "$CONNS" <<'PY'
import sys
h, one, ch = map(float, sys.argv[1:4]); backend, runs, dur, conns = sys.argv[4:]
print(f"wrk on loopback ({backend}), server on core 0, wrk on core 1, {conns} connections, median of {runs} x {dur}:")
print(f"  GET /health                       {h:10.0f} req/s")
print(f"  GET one datasource                {one:10.0f} req/s   {one/h:.2f}x health (target >= 0.30)")
print(f"  GET @getAllChildren page_size=20  {ch:10.0f} req/s   {ch/h:.2f}x health (target >= 0.15)")
PY
