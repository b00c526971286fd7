#!/usr/bin/env python3
"""Per-layer timing of one model, qkern's dispatching (SIMD) kernels against the scalar ones,
as a Markdown table (docs/benchmarks.md, "Per-layer model timing"). Standard library only.

  layer_timing.py QKERN_RUN[,QKERN_RUN2...] MODEL [--rounds R] [--repeat N] [qkern_run arguments...]

Runs `qkern_run MODEL --repeat N ARGS` and the same with `--scalar`, alternately, R times (default
3 rounds of N=20 runs each), in one session, so that both see the same machine load. qkern_run
reports each layer's fastest run; this keeps the fastest over all rounds. The ratio is scalar
time / SIMD time (above 1: the SIMD path is faster). Several qkern_run builds (say one built
with -march=x86-64-v3), comma-separated, get three columns each, labelled with the arch their
header line names.
"""
import re
import subprocess
import sys

ARCH = re.compile(r"dispatching kernels \(([^)]*)\)")
ROW = re.compile(r"^\s*(\d+)\s+([A-Z_0-9]+)\s+(\[[0-9,]*\])\s+(.*)$")


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit status {r.returncode}\n{r.stdout}\n{r.stderr}")
    layers = {}
    arch = ARCH.search(r.stdout)
    layers["arch"] = arch.group(1) if arch else "simd"
    for line in r.stdout.splitlines():
        m = ROW.match(line)
        if m:
            # columns after the shape: mismatches, max|diff|, time(us), at min, at max, range
            rest = m.group(4).split()
            layers[int(m.group(1))] = (m.group(2), m.group(3), float(rest[2]))
    if len(layers) == 1:
        raise SystemExit(f"{' '.join(cmd)}: no per-layer table in the output")
    return layers


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    runner, model, rest = argv[1], argv[2], argv[3:]
    rounds, repeat, extra = 3, 20, []
    i = 0
    while i < len(rest):
        if rest[i] == "--rounds":
            rounds = int(rest[i + 1])
            i += 2
        elif rest[i] == "--repeat":
            repeat = int(rest[i + 1])
            i += 2
        else:
            extra.append(rest[i])
            i += 1
    runners = runner.split(",")
    best = [{"simd": {}, "scalar": {}} for _ in runners]
    arch = ["simd"] * len(runners)
    shapes = {}
    for _ in range(rounds):
        for k, exe in enumerate(runners):
            for mode in ("simd", "scalar"):
                cmd = [exe, model, "--repeat", str(repeat)] + extra + (["--scalar"] if mode == "scalar" else [])
                layers = run(cmd)
                if mode == "simd":
                    arch[k] = layers["arch"]
                for index, (op, shape, us) in ((i, v) for i, v in layers.items() if i != "arch"):
                    shapes[index] = (op, shape)
                    old = best[k][mode].get(index)
                    best[k][mode][index] = us if old is None else min(old, us)
    head = "| # | op | output shape |"
    rule = "|---:|---|---|"
    for a in arch:
        head += f" SIMD {a} (us) | scalar (us) | ratio |"
        rule += "---:|---:|---:|"
    print(head)
    print(rule)
    totals = [[0.0, 0.0] for _ in runners]

    def ratio(a, b):
        return f"{b / a:.1f}x" if a > 0 else "-"

    for index in sorted(shapes):
        op, shape = shapes[index]
        line = f"| {index} | {op} | {shape} |"
        for k in range(len(runners)):
            a, b = best[k]["simd"][index], best[k]["scalar"][index]
            totals[k][0] += a
            totals[k][1] += b
            line += f" {a:.1f} | {b:.1f} | {ratio(a, b)} |"
        print(line)
    line = "| | **total** (sum of layers) | |"
    for a, b in totals:
        line += f" **{a:.1f}** | **{b:.1f}** | **{ratio(a, b)}** |"
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
