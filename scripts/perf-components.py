#!/usr/bin/env python3
"""Where a server's CPU goes, by component, from a `perf record --call-graph dwarf` profile.

    perf script -i RUN.data --no-inline -F comm,tid,ip,sym,dso | scripts/perf-components.py [REQUESTS]

Each sample is charged to the innermost frame of its stack that belongs to a known component
(so an allocation made by the signature code counts as signature work; a stack through the
response signer counts as the response signature); a sample whose leaf is in the kernel is
charged to the kernel. With REQUESTS (slips answered while recording) the
table also gives microseconds per request (samples at 999 Hz: 1001 µs each).
"""
import re
import sys
from collections import Counter

# First matching pattern wins, per frame; order matters for frames naming several crates.
COMPONENTS = [
    ("response signature (digest, base, Ed25519, fields)", r"slipgate_api::response_sig"),
    ("nonce store", r"slipgate_guard::replay"),
    ("token check (introspection cache)", r"slipgate_guard::token"),
    ("rate limits", r"slipgate_guard::ratelimit|governor"),
    ("request signature (parse, digest, base, HMAC)", r"slipgate_httpsig|slipgate_guard::signature"),
    ("load shedding", r"slipgate_api::shed"),
    ("guard, other", r"slipgate_guard"),
    ("metrics", r"slipgate_api::metrics|prometheus|metrics::"),
    ("audit line and logging", r"tracing_subscriber|tracing_core|tracing::|tracing_appender|slipgate_api::audit|slipgate_proto::logsink"),
    ("respond layer (request id, headers, problems)", r"slipgate_api::respond|uuid"),
    ("handler (parse, validate, slip, JSON)",
     r"slipgate_api::routes::slip|slipgate_payroll|slipgate_proto|serde_json|time::format"),
    ("TLS (rustls, record encryption)", r"rustls"),
    ("HTTP/1.1 (hyper)", r"hyper|httparse"),
    ("transport (connection watch, limits)", r"slipgate_transport"),
    ("axum/tower plumbing", r"axum|tower"),
    ("tokio runtime", r"tokio|mio"),
]
COMPILED = [(name, re.compile(pattern)) for name, pattern in COMPONENTS]
# Frames of these (shared utilities: header maps, aws-lc primitives, allocator, core) are
# charged to whoever called them, by walking further out.
CRYPTO = re.compile(r"aws_lc|25519|bignum|fiat_|sha\d|sha_|aes|gcm|ghash|hmac|chacha|poly1305", re.I)


def charge(stack):
    """stack: [(symbol, dso)], leaf first. Returns (component, leaf is a crypto primitive)."""
    if stack and "kernel" in stack[0][1]:
        if any(re.search(r"tracing_subscriber|tracing_core", sym) for sym, _ in stack):
            return "kernel, writing the audit line / log", False
        return "kernel (socket I/O, epoll, scheduling)", False
    crypto = bool(stack) and bool(CRYPTO.search(stack[0][0]))
    # The response signer calls the request-signature crate's key type: charge the whole stack.
    # (The server signs nothing else: `SigningKey::sign` is the response signer's, even when the
    # unwinder lost the frames above it.)
    if any(re.search(r"slipgate_api::response_sig|SigningKey::sign", sym) for sym, _ in stack):
        return COMPONENTS[0][0], crypto
    for symbol, _ in stack:
        for name, pattern in COMPILED:
            if pattern.search(symbol):
                return name, crypto
    leaf = stack[0][0] if stack else "?"
    if re.search(r"malloc|free|realloc|memcpy|memmove|memset|_int_", leaf):
        return "allocation/copy, caller unknown", False
    return "other", crypto


def main():
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    counts = Counter()
    crypto = Counter()
    stack = []
    total = 0
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            if stack:
                name, is_crypto = charge(stack)
                counts[name] += 1
                crypto[name] += is_crypto
                total += 1
            stack = []
            continue
        if not line.startswith((" ", "\t")):
            stack = []  # a sample's header line
            continue
        # "    7f12 symbol+0x12 (/path/dso)"
        m = re.match(r"\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)$", line)
        if m:
            stack.append((m.group(1), m.group(2)))
    if stack:
        name, is_crypto = charge(stack)
        counts[name] += 1
        crypto[name] += is_crypto
        total += 1
    print("| component | share of the server's samples | µs per request | of which in crypto primitives |")
    print("|---|---|---|---|")
    for name, n in counts.most_common():
        per = f"{n * 1001 / requests:.1f}" if requests else "-"
        c = f"{crypto[name] * 1001 / requests:.1f} µs" if requests else f"{100 * crypto[name] / n:.0f} %"
        print(f"| {name} | {100 * n / max(total, 1):.1f} % | {per} | {c} |")
    print(f"| **total** | {total} samples | {total * 1001 / requests:.1f} |" if requests else f"| **total** | {total} samples | - |")


if __name__ == "__main__":
    main()
