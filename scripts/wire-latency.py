#!/usr/bin/env python3
"""The server's answer time as the wire saw it, from a loopback capture of e2e runs.

`slipgate bench` counts each answer from when its request was due, so a load
generator that falls behind its own schedule shows up in its p99 even when the
server answered at once. This script takes the generator out: for every HTTP/1.1
request on the busiest server port it measures from the request's first data
segment to the answer's first data segment (TLS records, so sizes only), and it
shows how far the generator's sending fell behind a fixed-rate schedule.

    tcpdump -i lo -s 96 -w /tmp/e2e.pcap tcp &     # beside the harness, as root
    cargo bench -p slipgate-cli --bench e2e -- --tail
    tcpdump -r /tmp/e2e.pcap -tt -nn > /tmp/e2e.txt
    scripts/wire-latency.py /tmp/e2e.txt [--warmup 2]

A run is one `slipgate bench`: its connections open within a second of each other
on the server's port. The first `--warmup` seconds of each run (the harness's
SLIPGATE_E2E_WARMUP, default 2 s) are left out, like the generator's own report.
The capture costs CPU on both cores: compare runs inside one capture only.

Hand-written: the only input is tcpdump's text, and a pcap library would add a
dependency to a diagnostic script for the four fields read here.
"""

import argparse
import re
import sys

LINE = re.compile(
    r"^(\d+\.\d+) IP 127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.(\d+): Flags \[([^\]]*)\].*?length (\d+)"
)


def packets(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if m:
                yield float(m[1]), int(m[2]), int(m[3]), m[4], int(m[5])


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture", help="tcpdump -tt -nn text output")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds left out at each run's start")
    ap.add_argument("--port", type=int, help="the server's port (default: the busiest one)")
    args = ap.parse_args()

    pk = list(packets(args.capture))
    if not pk:
        sys.exit("no TCP packets between 127.0.0.1 addresses in the capture")
    if args.port is None:
        counts = {}
        for _, _, dst, _, n in pk:
            if n:
                counts[dst] = counts.get(dst, 0) + 1
        args.port = max(counts, key=counts.get)
    server = args.port

    # Runs: connections to the server whose SYNs are within a second of the previous one.
    syns = sorted((t, src) for t, src, dst, flags, _ in pk if dst == server and flags == "S")
    runs, run_of = [], {}
    for t, src in syns:
        if not runs or t - runs[-1]["last_syn"] > 1.0:
            runs.append({"start": t, "last_syn": t, "lat": [], "sends": []})
        runs[-1]["last_syn"] = t
        run_of[src] = len(runs) - 1

    waiting = {}  # client port -> when its request's first segment was seen
    for t, src, dst, _, n in pk:
        if n == 0:
            continue
        if dst == server and src in run_of:
            run = runs[run_of[src]]
            if src not in waiting:
                waiting[src] = t
                if t >= run["start"] + args.warmup:
                    run["sends"].append(t)
        elif src == server and dst in waiting:
            run = runs[run_of[dst]]
            sent = waiting.pop(dst)
            if sent >= run["start"] + args.warmup:
                run["lat"].append(t - sent)

    print("| run | answers | p50 | p99 | p99.9 | max | > 2 ms | generator's send rate | most behind a fixed schedule |")
    print("|---|---|---|---|---|---|---|---|---|")
    for i, run in enumerate(runs, 1):
        lat = sorted(run["lat"])
        sends = run["sends"]
        if len(sends) < 2 or not lat:
            continue
        rate = (len(sends) - 1) / (sends[-1] - sends[0])
        lag = [t - (sends[0] + k / rate) for k, t in enumerate(sends)]
        behind = max(lag) - min(lag)
        over = sum(1 for x in lat if x > 0.002)
        ms = lambda x: f"{x * 1e3:.2f} ms"  # noqa: E731
        print(
            f"| {i} | {len(lat)} | {ms(percentile(lat, 0.5))} | {ms(percentile(lat, 0.99))} | "
            f"{ms(percentile(lat, 0.999))} | {ms(lat[-1])} | {over / len(lat):.2%} | {rate:.0f}/s | "
            f"{behind * 1e3:.1f} ms |"
        )


if __name__ == "__main__":
    main()
