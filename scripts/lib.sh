# Shared by scripts/run and scripts/test: install what is missing, idempotently, and say so.
# Every step checks first, so a second run costs seconds.

set -euo pipefail

CARGO_LEPTOS_VERSION="0.3.10"   # 0.3.11 needs a newer rustc than this toolchain

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

ensure_rust() {
  command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup first" >&2; exit 1; }
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_cargo_leptos() {
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (once; ~10 minutes)"
    command -v pkg-config >/dev/null && [ -e /usr/include/openssl/ssl.h ] || apt_install pkg-config libssl-dev
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
}

# The wasm-bindgen CLI must equal the wasm-bindgen library in Cargo.lock.
ensure_wasm_bindgen() {
  local want
  want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$want"; then
    say "installing wasm-bindgen-cli $want"
    # Not --locked: its lock names a crate version the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

# Tailwind and wasm-opt come from npm (Debian's binaryen breaks hydration).
ensure_npm_tools() {
  command -v npm >/dev/null || apt_install nodejs npm
  if [ ! -x node_modules/.bin/tailwindcss ] || [ ! -x node_modules/.bin/wasm-opt ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing Tailwind and wasm-opt from npm"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  export PATH="$PWD/node_modules/.bin:$PATH"
}

ensure_build_tools() {
  ensure_rust
  ensure_cargo_leptos
  ensure_wasm_bindgen
  ensure_npm_tools
}

ensure_chromium() {
  if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
    say "installing Chromium from Debian"
    apt_install chromium
  fi
}

ensure_playwright() {
  if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "installing Playwright (without its browser download)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# An S3-compatible server for the S3 spyder's tests (moto, from PyPI); the tests start it.
MOTO_VERSION="5.2.1"
SCHEMATHESIS_VERSION="4.32.5"
CARGO_FUZZ_VERSION="0.13.2"
ensure_moto() {
  if ! command -v moto_server >/dev/null 2>&1; then
    say "installing moto $MOTO_VERSION (an S3-compatible test server) from PyPI"
    python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    # pyenv (this machine's Python) puts new commands on PATH only after a rehash.
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
    hash -r
  fi
  command -v moto_server >/dev/null 2>&1 || { echo "moto_server is not on PATH after installing moto" >&2; exit 1; }
}

# cargo-fuzz (crates.io), for scripts/fuzz.
ensure_cargo_fuzz() {
  if ! command -v cargo-fuzz >/dev/null 2>&1; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION (once; a few minutes)"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
  fi
}

# schemathesis (PyPI): property-based tests of the REST API against its OpenAPI document.
ensure_schemathesis() {
  if ! command -v schemathesis >/dev/null 2>&1; then
    say "installing schemathesis $SCHEMATHESIS_VERSION from PyPI"
    python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
    hash -r
  fi
  command -v schemathesis >/dev/null 2>&1 || { echo "schemathesis is not on PATH after installing it" >&2; exit 1; }
}

# A PostgreSQL for the tests: $TEST_POSTGRES_URL if it answers; else the local server, started
# (and installed, with trust auth on loopback) when needed.
ensure_postgres() {
  export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  if pg_answers; then return; fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    say "installing PostgreSQL from Debian"
    apt_install postgresql postgresql-client
  fi
  local ver
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  local hba="/etc/postgresql/$ver/main/pg_hba.conf"
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    say "allowing trusted connections on loopback for tests"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  say "starting PostgreSQL $ver"
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null \
    || as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
  for _ in $(seq 1 30); do pg_answers && return; sleep 1; done
  echo "PostgreSQL did not come up at $TEST_POSTGRES_URL" >&2
  exit 1
}

# RabbitMQ for the tests of the spyder jobs' announcements (guest/guest on loopback, Debian's
# defaults).
ensure_rabbitmq() {
  export TEST_AMQP_URL="${TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
  if (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then return; fi
  if ! command -v rabbitmq-server >/dev/null && [ ! -x /usr/sbin/rabbitmq-server ]; then
    say "installing RabbitMQ from Debian"
    apt_install rabbitmq-server
  fi
  say "starting RabbitMQ"
  as_root sh -c '(/usr/sbin/rabbitmq-server >/tmp/rabbitmq.log 2>&1 &)'
  for _ in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && return; sleep 1; done
  echo "RabbitMQ did not come up on 127.0.0.1:5672 (see /tmp/rabbitmq.log)" >&2
  exit 1
}

pg_answers() {
  if command -v psql >/dev/null; then
    psql "$TEST_POSTGRES_URL" -Atqc 'select 1' >/dev/null 2>&1
  else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
  fi
}
