#!/usr/bin/env python3
"""Runs a command and checks how it ended, for qkern_run's ctest entries.

  check_run.py [--exit N] [--stdout REGEX]... [--stderr REGEX]... [--not-stdout REGEX]... -- COMMAND...

Fails (exit 1, with the command's output) when the command is killed by a signal (a crash is
never an acceptable way to reject a bad file), exits with another status than N (default 0),
or its output misses a pattern. Patterns are Python regular expressions searched in the text.
"""
import re
import subprocess
import sys


def main(argv):
    expect_exit = 0
    stdout_patterns, stderr_patterns, absent_patterns = [], [], []
    i = 1
    while i < len(argv) and argv[i] != "--":
        flag = argv[i]
        if i + 1 >= len(argv):
            raise SystemExit(f"{flag} needs a value")
        value = argv[i + 1]
        if flag == "--exit":
            expect_exit = int(value)
        elif flag == "--stdout":
            stdout_patterns.append(value)
        elif flag == "--stderr":
            stderr_patterns.append(value)
        elif flag == "--not-stdout":
            absent_patterns.append(value)
        else:
            raise SystemExit(f"unknown option {flag}")
        i += 2
    command = argv[i + 1:]
    if not command:
        raise SystemExit("no command after --")
    r = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=600)
    problems = []
    if r.returncode < 0:
        problems.append(f"killed by signal {-r.returncode} (a crash)")
    elif r.returncode != expect_exit:
        problems.append(f"exit status {r.returncode}, expected {expect_exit}")
    for p in stdout_patterns:
        if not re.search(p, r.stdout, re.MULTILINE):
            problems.append(f"stdout lacks /{p}/")
    for p in stderr_patterns:
        if not re.search(p, r.stderr, re.MULTILINE):
            problems.append(f"stderr lacks /{p}/")
    for p in absent_patterns:
        if re.search(p, r.stdout, re.MULTILINE):
            problems.append(f"stdout has /{p}/")
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if problems:
        print("\ncheck_run: " + "; ".join(problems) + "\ncommand: " + " ".join(command), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
