#!/usr/bin/env python3
"""`make bench-compare`: RpcNet, gRPC-Swift 2 and gRPC-Go side by side.

Runs the three benchmark programs on the same four measurements with the same counts and TLS
certificates, RpcNet twice: with its reactors sleeping in the kernel whenever they are idle (the
default) and with them busy-polling for 200 µs after each event (`Reactor.busyPollWindow`), which is
what gRPC-Go's scheduler does by default with its spinning idle threads; interleaved over N rounds (the order rotates each round, so none always runs first
or last on a machine whose load drifts), then prints medians, min–max and same-run ratios, checks
them against issue 15's targets, and writes a chart of the ratios (docs/bench-compare.svg) next to
docs/BENCHMARKS.md.

Each program prints lines "result <key> <value>"; everything else it prints goes to the log file
next to the chart's data (.build-compare/round-<n>-<program>.log).

Standard library only: it runs on a fresh Debian 12 with python3.
"""

import argparse
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".build-compare"

# (key, what it is, unit, True when higher is better)
MEASUREMENTS = [
    ("unary_p50_us", "unary p50, 64 B, one in flight", "µs", False),
    ("unary_cpu_us", "CPU per unary call, one in flight", "µs", False),
    ("calls_per_s", "unary calls/s, 64 in flight", "calls/s", True),
    ("stream_msgs_per_s", "server-stream 64 B messages/s", "msg/s", True),
    ("connect_p50_us", "new connection + first call p50", "µs", False),
    ("connect_resumed_p50_us", "same, TLS session resumed", "µs", False),
]
# RpcNet's own floors, measured in the same rpcnet-bench process.
FLOORS = [
    ("quic_echo_p50_us", "RpcNet QUIC stream echo p50", "µs"),
    ("udp_floor_p50_us", "UDP ping-pong floor p50 (2 threads)", "µs"),
]

# Issue 15's targets, as "RpcNet is at least this many times better than gRPC-Go".
GO_TARGETS = {
    "unary_p50_us": 1 / 0.7, "calls_per_s": 1.5, "stream_msgs_per_s": 1.5, "connect_p50_us": 1 / 0.7,
    "connect_resumed_p50_us": 1 / 0.7,
}
SWIFT_TARGET = 20.0
# The RpcNet variants, each compared with both gRPC implementations.
RPCNET = ["RpcNet", "RpcNet busy-poll"]
OTHERS = ["gRPC-Go", "gRPC-Swift 2"]
ECHO_TARGET = 1.5  # unary p50 ≤ 1.5 × RpcNet's own QUIC stream echo


def run(command, **kwargs):
    print("+ " + " ".join(str(part) for part in command), flush=True)
    subprocess.run(command, check=True, **kwargs)


def build():
    """Builds the three programs."""
    run(["certs/generate.sh"], cwd=ROOT)
    run(["swift", "build", "-c", "release", "--traits", "Executables", "--product", "rpcnet-bench"], cwd=ROOT)
    run(["swift", "build", "-c", "release"], cwd=ROOT / "Benchmarks/GRPCComparison")
    # GOPATH mode against Debian's packages (golang-google-grpc-dev): no module download.
    env = dict(os.environ, GO111MODULE="off", GOPROXY="off",
               GOPATH=f"{ROOT / 'Benchmarks/GRPCGo'}:/usr/share/gocode", GOCACHE=str(WORK / "go-cache"))
    run(["go", "build", "-o", str(WORK / "grpcbench"), "grpcbench"], cwd=ROOT / "Benchmarks/GRPCGo", env=env)


def commands():
    """The three programs' command lines, without counts."""
    certs = ROOT / "certs"
    return {
        "RpcNet": [ROOT / ".build/release/rpcnet-bench", "--sections", "compare", "--certs", certs],
        "RpcNet busy-poll": [ROOT / ".build/release/rpcnet-bench", "--sections", "compare", "--certs", certs,
                             "--busy-poll-microseconds", "200"],
        "gRPC-Swift 2": [ROOT / "Benchmarks/GRPCComparison/.build/release/grpc-bench", "--certs", certs],
        "gRPC-Go": [WORK / "grpcbench", "--certs", certs],
    }


def measure(name, command, round_trips, connections, log):
    """Runs one program once; returns its results as {key: value}."""
    full = [str(part) for part in command] + ["--round-trips", str(round_trips), "--connections", str(connections)]
    started = time.monotonic()
    with open(log, "w") as out:
        completed = subprocess.run(full, stdout=subprocess.PIPE, stderr=out, text=True, timeout=1800)
        out.write(completed.stdout)
    if completed.returncode != 0:
        sys.exit(f"bench-compare: {name} failed with exit status {completed.returncode}; see {log}")
    results = {}
    for line in completed.stdout.splitlines():
        if line.startswith("result "):
            _, key, value = line.split()
            results[key] = float(value)
    print(f"  {name:<13} {time.monotonic() - started:6.1f} s  " +
          "  ".join(f"{key}={value:g}" for key, value in results.items()), flush=True)
    return results


def load_average():
    return os.getloadavg()[0]


def better(key, rpcnet, other):
    """How many times better RpcNet is than `other` on `key` (above 1: RpcNet is better)."""
    higher = next(m[3] for m in MEASUREMENTS if m[0] == key)
    return rpcnet / other if higher else other / rpcnet


def pairs(med):
    """The (RpcNet variant, other implementation) pairs both measured in this run."""
    return [(ours, other) for ours in RPCNET for other in OTHERS if ours in med and other in med]


def summarize(samples, rounds, loads):
    names = list(samples)
    med = {name: {key: statistics.median(values) for key, values in samples[name].items()} for name in names}
    compared = pairs(med)
    lines = [f"{rounds} rounds, load average {min(loads):.2f}–{max(loads):.2f} (1 min) before each run", ""]
    header = "| measurement | " + " | ".join(f"{n} median (min–max)" for n in names) + " | " + \
        " | ".join(f"{ours} ahead of {other}" for ours, other in compared) + " |"
    lines += [header, "|" + "---|" * (1 + len(names) + len(compared))]
    def cells(key, unit):
        """Each program's median (min–max) of `key`, or a dash."""
        return [f"{statistics.median(values):,.1f} ({min(values):,.1f}–{max(values):,.1f}) {unit}"
                if (values := samples[name].get(key, [])) else "—" for name in names]

    for key, title, unit, _ in MEASUREMENTS:
        ratios = [f"{better(key, med[ours][key], med[other][key]):.2f}×"
                  if key in med[ours] and key in med[other] else "—" for ours, other in compared]
        lines.append(f"| {title} | " + " | ".join(cells(key, unit) + ratios) + " |")
    for key, title, unit in FLOORS:
        if not any(key in med.get(ours, {}) for ours in RPCNET):
            continue
        lines.append(f"| {title} | " + " | ".join(cells(key, unit) + [""] * len(compared)) + " |")
    lines += ["", "Targets (issue 15), on the medians of this run:"]
    checks = []
    for ours in RPCNET:
        rpc = med.get(ours, {})
        for key, target in GO_TARGETS.items():
            if key in rpc and key in med.get("gRPC-Go", {}):
                ratio = better(key, rpc[key], med["gRPC-Go"][key])
                checks.append((f"{ours}: {key}: {ratio:.2f}× gRPC-Go (target ≥ {target:.2f}×)", ratio >= target))
        if "unary_p50_us" in rpc and "quic_echo_p50_us" in rpc:
            ratio = rpc["unary_p50_us"] / rpc["quic_echo_p50_us"]
            checks.append((f"{ours}: unary p50 / its QUIC echo p50: {ratio:.2f}× (target ≤ {ECHO_TARGET}×)",
                           ratio <= ECHO_TARGET))
        for key, *_ in MEASUREMENTS:
            if key in rpc and key in med.get("gRPC-Swift 2", {}):
                ratio = better(key, rpc[key], med["gRPC-Swift 2"][key])
                checks.append((f"{ours}: {key}: {ratio:.2f}× gRPC-Swift 2 (target ≥ {SWIFT_TARGET:.0f}×)",
                               ratio >= SWIFT_TARGET))
    lines += [f"- {'met   ' if met else 'MISSED'} {text}" for text, met in checks]
    return "\n".join(lines), med


def chart(med, path, subtitle):
    """A bar chart (SVG) of how many times better each RpcNet variant is than each gRPC, log scale,
    with targets."""
    keys = [m for m in MEASUREMENTS if any(m[0] in med.get(ours, {}) for ours in RPCNET)]
    colours = {("RpcNet", "gRPC-Go"): "#4c78a8", ("RpcNet busy-poll", "gRPC-Go"): "#9ecae9",
               ("RpcNet", "gRPC-Swift 2"): "#f58518", ("RpcNet busy-poll", "gRPC-Swift 2"): "#ffbf79"}
    bars = [(ours, other, colours[(ours, other)]) for ours, other in pairs(med)]
    width, row, left, top = 900, 16 + 24 * len(bars), 250, 70
    height = top + row * len(keys) + 60
    low, high = 0.1, 100.0

    def x(value):
        value = min(max(value, low), high)
        return left + (width - left - 30) * (math.log10(value) - math.log10(low)) / (math.log10(high) - math.log10(low))

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
           'RpcNet, times better than each gRPC (same run, medians; right of 1× = RpcNet ahead)</text>',
           f'<text x="{width / 2}" y="40" text-anchor="middle" fill="#555">{subtitle}</text>']
    for tick in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100):
        svg.append(f'<line x1="{x(tick):.1f}" y1="{top - 8}" x2="{x(tick):.1f}" y2="{height - 45}" '
                   f'stroke="{"#000" if tick == 1 else "#ddd"}"/>')
        svg.append(f'<text x="{x(tick):.1f}" y="{height - 30}" text-anchor="middle">{tick:g}×</text>')
    for index, (key, title, _, _) in enumerate(keys):
        y = top + index * row
        svg.append(f'<text x="{left - 8}" y="{y + row / 2}" text-anchor="end">{title}</text>')
        for bar, (ours, other, colour) in enumerate(bars):
            if key not in med[ours] or key not in med[other]:
                continue
            ratio = better(key, med[ours][key], med[other][key])
            y0 = y + 8 + bar * 24
            x0, x1 = sorted((x(1), x(ratio)))
            svg.append(f'<rect x="{x0:.1f}" y="{y0}" width="{max(x1 - x0, 1):.1f}" height="20" fill="{colour}"/>')
            if ratio >= 1:
                svg.append(f'<text x="{x1 + 4:.1f}" y="{y0 + 15}">{ratio:.2f}×</text>')
            else:
                svg.append(f'<text x="{x0 - 4:.1f}" y="{y0 + 15}" text-anchor="end">{ratio:.2f}×</text>')
            target = GO_TARGETS.get(key) if other == "gRPC-Go" else SWIFT_TARGET
            if target:
                svg.append(f'<line x1="{x(target):.1f}" y1="{y0 - 2}" x2="{x(target):.1f}" y2="{y0 + 22}" '
                           'stroke="#d62728" stroke-width="2" stroke-dasharray="3,2"/>')
    legend_y = height - 12
    for index, (ours, other, colour) in enumerate(bars):
        legend_x = 10 + index * 180
        svg.append(f'<rect x="{legend_x}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>')
        svg.append(f'<text x="{legend_x + 16}" y="{legend_y}">{ours} vs {other}</text>')
    target_x = 10 + len(bars) * 180
    svg.append(f'<line x1="{target_x}" y1="{legend_y - 4}" x2="{target_x + 20}" y2="{legend_y - 4}" '
               'stroke="#d62728" stroke-width="2" stroke-dasharray="3,2"/>')
    svg.append(f'<text x="{target_x + 26}" y="{legend_y}">target</text>')
    svg.append("</svg>")
    path.write_text("\n".join(svg) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three programs (default 3)")
    parser.add_argument("--round-trips", type=int, default=20_000,
                        help="unary calls for the latency figure; 64 × this/16 calls for throughput; "
                             "25 × this stream messages (default 20,000)")
    parser.add_argument("--connections", type=int, default=200, help="connections for the set-up figure")
    parser.add_argument("--only", help="comma-separated subset of: RpcNet, RpcNet busy-poll, gRPC-Swift 2, gRPC-Go")
    parser.add_argument("--no-build", action="store_true", help="use the programs built before")
    parser.add_argument("--chart", default=str(ROOT / "docs/bench-compare.svg"), help="where to write the chart")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    if not args.no_build:
        build()
    programs = commands()
    if args.only:
        wanted = [name.strip() for name in args.only.split(",")]
        programs = {name: command for name, command in programs.items() if name in wanted}
    names = list(programs)
    samples = {name: {} for name in names}
    loads = []
    for round_index in range(args.rounds):
        print(f"round {round_index + 1} of {args.rounds}", flush=True)
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        for name in order:
            loads.append(load_average())
            log = WORK / f"round-{round_index + 1}-{name.replace(' ', '-')}.log"
            for key, value in measure(name, programs[name], args.round_trips, args.connections, log).items():
                samples[name].setdefault(key, []).append(value)
    summary, med = summarize(samples, args.rounds, loads)
    print()
    print(f"round trips {args.round_trips}, connections {args.connections}, {os.cpu_count()} CPUs")
    print(summary)
    subtitle = (f"{args.rounds} rounds × {args.round_trips:,} round trips, {os.cpu_count()} CPUs, "
                f"load {min(loads):.1f}–{max(loads):.1f}, {time.strftime('%Y-%m-%d')}")
    chart(med, Path(args.chart), subtitle)
    print(f"\nchart: {args.chart}")


if __name__ == "__main__":
    main()
