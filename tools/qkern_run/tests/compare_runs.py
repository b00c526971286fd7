#!/usr/bin/env python3
"""Runs a model twice through qkern_run, with qkern's dispatching (SIMD) kernels and with the
scalar reference kernels, dumping every layer, and checks that the two agree bit for bit.
For models without TFLite Micro tensors (mobilenet_v2), the scalar path is the reference.

  compare_runs.py QKERN_RUN MODEL WORKDIR [qkern_run arguments...]
"""
import os
import shutil
import subprocess
import sys


def main(argv):
    if len(argv) < 4:
        raise SystemExit(__doc__)
    runner, model, work, extra = argv[1], argv[2], argv[3], argv[4:]
    dirs = {}
    for mode in ("dispatching", "scalar"):
        d = os.path.join(work, mode)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        cmd = [runner, model, "--dump", d, "--quiet"] + extra + (["--scalar"] if mode == "scalar" else [])
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout, r.stderr, f"\n{' '.join(cmd)} ended with status {r.returncode}", file=sys.stderr)
            return 1
        dirs[mode] = d
    names = sorted(os.listdir(dirs["scalar"]))
    differing = []
    for name in names:
        with open(os.path.join(dirs["scalar"], name), "rb") as f:
            a = f.read()
        other = os.path.join(dirs["dispatching"], name)
        b = open(other, "rb").read() if os.path.exists(other) else None
        if a != b:
            count = sum(x != y for x, y in zip(a, b)) if b is not None and len(a) == len(b) else len(a)
            differing.append(f"{name}: {count} of {len(a)} bytes differ")
    print(f"{len(names)} layer outputs compared, dispatching vs scalar kernels")
    for line in differing:
        print("  DIFFER " + line)
    if not names or differing:
        return 1
    print("all identical")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
