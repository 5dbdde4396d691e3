"""Summarise a py-spy profile (collapsed stacks, ``--format raw``) of the server under load.

Usage:
    .venv/bin/python bench/profile_shares.py data/bench_load/mix-disk-w1-c1000.pyspy.txt [--top 25]

Prints, as a share of all samples (idle threads included, so shares of busy time are larger):
the frames most often on the stack (inclusive, oO code and the libraries it calls), and the
frames most often at the top (self time). Samples of idle waits (``select``, ``epoll``, ``wait``,
lock acquires) are reported separately so the busy shares can be read on their own.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

IDLE = re.compile(r"\b(select|poll|epoll|_wait|wait|acquire|sleep|accept|_worker|run_forever)\b \(")
FRAME = re.compile(r"^(?P<fn>[^ ]+) \((?P<file>[^:]+)(?::(?P<line>\d+))?\)$")


def short(frame: str) -> str:
    """``function (file)`` with the file shortened to its package path."""
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m["file"]
    for marker in ("site-packages/", "/oo/", "python3.11/"):
        if marker in path:
            path = ("oo/" if marker == "/oo/" else "") + path.split(marker, 1)[1]
            break
    return f"{m['fn']} ({path})"


def main() -> int:
    """Read and print."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = idle = 0
    for line in args.path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [short(f) for f in stack.split(";")[1:] if f.strip()]  # the first is the process
        total += n
        if not frames or IDLE.search(frames[-1] + " ("):
            idle += n
            continue
        leaf[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    busy = max(1, total - idle)
    print(f"{total} samples, {idle} idle ({100 * idle / max(1, total):.0f} %), {busy} busy; shares of busy:")
    print("\ninclusive (on the stack):")
    for f, n in inclusive.most_common(args.top * 3):
        if "oo/" in f or any(k in f for k in ("sqlalchemy", "json", "reflex", "pickle", "numpy", "redis")):
            print(f"  {100 * n / busy:5.1f} %  {f}")
    print("\nself (top of the stack):")
    for f, n in leaf.most_common(args.top):
        print(f"  {100 * n / busy:5.1f} %  {f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
