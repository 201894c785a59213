#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (`.ci/run` calls this script).
# On a fresh Debian machine it first installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step prints the seconds since the start, so a slow step shows in CI's log.
step() { printf '\n==> [%4d s] %s\n' "$SECONDS" "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

apt_updated=""
apt_install() { # apt_install <debian package>: for what has no command of its own
  step "installing $1"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}
need_pkg() { # need_pkg <command> <debian package>
  command -v "$1" >/dev/null 2>&1 && return 0
  apt_install "$2"
}

need_pkg pdftotext poppler-utils
need_pkg cc gcc
need_pkg script bsdutils   # a pseudo-terminal for the credential-prompt test
need_pkg systemd-analyze systemd   # verifies the units in deploy/systemd/
# The docs' shell examples (crates/cli/tests/it/docs_examples.rs) use these, as a reader would.
need_pkg jq jq
need_pkg curl curl
need_pkg openssl openssl

need_pkg python3 python3
# The venvs of the Python SDK, the browser tests and the OpenAPI validator.
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# PostgreSQL for the identity server's store suite: the one on 127.0.0.1:5432
# when it answers (trust auth, database `test`), else a private throw-away
# instance on 127.0.0.1:55432, stopped when this script exits.
pg_private_stop() { :; }
ensure_postgres() {
  if [ -n "${SLIPGATE_TEST_POSTGRES_URL:-}" ]; then return 0; fi
  if [ -z "${SLIPGATE_TEST_PRIVATE_PG:-}" ] && port_open 5432; then
    export SLIPGATE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/test"
    return 0
  fi
  if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    step "installing postgresql"
    if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local bin dir run
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  dir=$(mktemp -d /tmp/slipgate-pg.XXXXXX)
  run=()
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; run=(runuser -u postgres --); fi
  step "starting a private PostgreSQL on 127.0.0.1:55432 ($dir)"
  "${run[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p 55432 -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
  "${run[@]}" "$bin/createdb" -h 127.0.0.1 -p 55432 -U postgres test
  export SLIPGATE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:55432/test"
  eval "pg_private_stop() { ${run[*]} '$bin/pg_ctl' -D '$dir/data' -m fast stop >/dev/null 2>&1; rm -rf '$dir'; }"
}
# Redis for the shared nonce and rate-limit stores: the one on 127.0.0.1:6379
# when it answers, else a private one on 127.0.0.1:56379 (no persistence).
redis_private_stop() { :; }
ensure_redis() {
  if [ -n "${SLIPGATE_TEST_REDIS_URL:-}" ]; then return 0; fi
  if [ -z "${SLIPGATE_TEST_PRIVATE_REDIS:-}" ] && port_open 6379; then
    export SLIPGATE_TEST_REDIS_URL="redis://127.0.0.1:6379"
    return 0
  fi
  need_pkg redis-server redis-server
  local dir
  dir=$(mktemp -d /tmp/slipgate-redis.XXXXXX)
  step "starting a private Redis on 127.0.0.1:56379 ($dir)"
  redis-server --bind 127.0.0.1 --port 56379 --save "" --appendonly no --daemonize yes \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for _ in $(seq 50); do port_open 56379 && break; sleep 0.1; done
  export SLIPGATE_TEST_REDIS_URL="redis://127.0.0.1:56379"
  eval "redis_private_stop() { kill \$(cat '$dir/redis.pid') 2>/dev/null; rm -rf '$dir'; }"
}

trap 'pg_private_stop; redis_private_stop' EXIT
ensure_postgres
ensure_redis
need_pkg redis-server redis-server # the API round-trip tests and the scale-out test start private redis-servers
need_pkg haproxy haproxy   # the scale-out test runs the documented balancer config
need_pkg chromium chromium # the web console's browser tests (console/tests)

# The OpenAPI 3.1 validator the API's document test runs (pinned; from PyPI, at install time only).
openapi_venv="${CARGO_TARGET_DIR:-target}/openapi-venv"
if ! "$openapi_venv/bin/openapi-spec-validator" --version 2>/dev/null | grep -q ' 0\.9\.0$'; then
  step "installing openapi-spec-validator into $openapi_venv"
  python3 -m venv "$openapi_venv"
  "$openapi_venv/bin/pip" install -q -r scripts/openapi-requirements.txt
fi
SLIPGATE_OPENAPI_VALIDATOR="$(cd "$openapi_venv/bin" && pwd)/openapi-spec-validator"
export SLIPGATE_OPENAPI_VALIDATOR

# The independent OpenID provider the `oidc` tests run against (oidc-provider from npm, pinned by
# crates/cli/tests/oidc-provider/package-lock.json; fetched at install time only, never committed).
need_pkg node nodejs
need_pkg npm npm
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "the oidc tests need Node.js 20 or later; found $(node --version)" >&2
  exit 1
fi
oidc_src=crates/cli/tests/oidc-provider
oidc_node="$(realpath -m "${CARGO_TARGET_DIR:-target}")/oidc-provider-node"
if [ ! -f "$oidc_node/node_modules/oidc-provider/lib/index.js" ] ||
  ! cmp -s "$oidc_src/package-lock.json" "$oidc_node/package-lock.json"; then
  step "installing oidc-provider into $oidc_node (npm ci)"
  mkdir -p "$oidc_node"
  cp "$oidc_src/package.json" "$oidc_src/package-lock.json" "$oidc_node/"
  (cd "$oidc_node" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi
export SLIPGATE_TEST_OIDC_NODE_MODULES="$oidc_node/node_modules"

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust 1.95+ with rustup (https://rustup.rs)" >&2
  exit 1
fi

# One build profile (dev) for everything below; no duplicate builds.
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (unit, integration and doc tests)"
# Most integration tests wait on real processes, sockets and timeouts rather than the CPU, so
# four test threads on two cores finish sooner than libtest's default of one per core.
cargo test --workspace --locked -- --test-threads=4

# The Python SDK (clients/python) against the slipgate binary the tests above built (the dev
# profile; no second build). The venv is reused when present; versions come from constraints.txt.
step "python SDK: ruff, mypy --strict, pytest against real slipgate dev processes"
# `cargo test --workspace` above built target/debug/slipgate; `cargo build -p slipgate-cli` here would
# resolve other features and rebuild every dependency (a second build, minutes and gigabytes).
PY_VENV=target/py-venv
SLIPGATE_BIN="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/slipgate"
if [ ! -x "$PY_VENV/bin/python" ]; then python3 -m venv "$PY_VENV"; fi
"$PY_VENV/bin/pip" install -q --disable-pip-version-check \
  -c clients/python/constraints.txt './clients/python[test]'
(
  cd clients/python
  ../../$PY_VENV/bin/ruff check .
  ../../$PY_VENV/bin/ruff format --check .
  ../../$PY_VENV/bin/mypy --strict
  SLIPGATE_BIN="$SLIPGATE_BIN" ../../$PY_VENV/bin/python -m pytest -q -p no:cacheprovider
)

step "web console in headless chromium (console/tests; screenshots in target/console-artifacts)"
console_venv="$(realpath -m "${CARGO_TARGET_DIR:-target}")/console-venv"
if [ ! -x "$console_venv/bin/pytest" ] || ! cmp -s console/tests/requirements.txt "$console_venv/requirements.txt"; then
  python3 -m venv "$console_venv"
  # Playwright's own browser download is skipped: it drives Debian's chromium.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$console_venv/bin/pip" install -q -r console/tests/requirements.txt
  cp console/tests/requirements.txt "$console_venv/requirements.txt"
fi
(cd console/tests && "$console_venv/bin/python" -m pytest -q -p no:cacheprovider)

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "benchmarks, quick mode (compile and run each once; full runs: docs/performance.md)"
cargo bench --workspace --benches --profile dev --locked -- --test
step "the tail harness, quick mode (half-peak runs beside bare, with the speed probes)"
# `--workspace` as above: the same feature set, so the same build (`-p` would unify features anew).
cargo bench --workspace --bench e2e --profile dev --locked -- --tail --test
cargo bench --workspace --bench e2e --profile dev --locked -- --idle-penalty --test

step "fuzzing, bounded (${FUZZ_SECONDS:-15} s per target; skipped without nightly and cargo-fuzz)"
./scripts/fuzz.sh

step "all checks passed"
