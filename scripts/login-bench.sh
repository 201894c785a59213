#!/usr/bin/env bash
# The cost of a password login under the login throttle (SPEC §4): N sequential
# `grant_type=password` requests for alice against a fresh `slipgate dev`, on one
# kept-alive TLS connection (curl reuses it for every URL), so each time is the
# request alone: throttle reservation, argon2id check, token issue, known-IP upsert.
# Prints the median and p99 in milliseconds.
#
#   scripts/login-bench.sh [N] [path/to/slipgate]     (defaults: 100, target/release/slipgate)
set -euo pipefail
n="${1:-100}"
bin="${2:-target/release/slipgate}"
work="$(mktemp -d)"
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

XDG_CONFIG_HOME="$work/config" "$bin" dev --data-dir "$work/data" \
  --set server.listen=127.0.0.1:0 --set server.admin_listen=127.0.0.1:0 --set idp.listen=127.0.0.1:0 \
  >"$work/stdout" 2>"$work/stderr" &
pid=$!
for _ in $(seq 600); do [ -e "$work/data/dev.json" ] && break; sleep 0.1; done
[ -e "$work/data/dev.json" ] || { echo "slipgate dev did not start" >&2; exit 1; }

idp="$(jq -r .idp_url "$work/data/dev.json")"
ca="$(jq -r .ca_file "$work/data/dev.json")"
# The password goes through a 0600 file, never the command line.
umask 077
jq -j '.users[] | select(.username == "alice") | "grant_type=password&username=alice&password=" + (.password | @uri)' \
  "$work/data/dev.json" >"$work/form"

urls=()
for _ in $(seq "$n"); do urls+=(-o /dev/null "$idp/oauth/token"); done
curl -sS --cacert "$ca" --data-binary @"$work/form" -H 'content-type: application/x-www-form-urlencoded' \
  -w '%{http_code} %{time_total}\n' "${urls[@]}" >"$work/times"

if grep -qv '^200 ' "$work/times"; then
  echo "not every login answered 200:" >&2; sort "$work/times" | cut -d' ' -f1 | uniq -c >&2; exit 1
fi
awk '{print $2 * 1000}' "$work/times" | sort -n | awk -v n="$n" '
  { t[NR] = $1 }
  END {
    median = (n % 2) ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2
    p99 = t[int(0.99 * n + 0.999999)]
    printf "logins %d  median %.1f ms  p99 %.1f ms  min %.1f ms  max %.1f ms\n", n, median, p99, t[1], t[n]
  }'
