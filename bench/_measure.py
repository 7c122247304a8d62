"""What every benchmark here measures with: per-call timings, a p50/p95/rate row, and a table of
rows with each one's ratio to a baseline row measured in the same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

Row = tuple[str, float, float, float]  # name, p50 ms, p95 ms, calls/s


def timed(call: Callable[[], object], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def row(name: str, samples: list[float]) -> Row:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return name, p50, p95, 1000 / statistics.fmean(ordered)


def print_table(rows: list[Row], baseline: str, width: int = 44) -> None:
    base = next(r for r in rows if r[0] == baseline)[1]
    print(f"{'path':<{width}}{'p50 ms':>9}{'p95 ms':>9}{'cmds/s':>9}{'p50 vs tetherd':>16}")
    for name, p50, p95, rate in rows:
        print(f"{name:<{width}}{p50:>9.2f}{p95:>9.2f}{rate:>9.1f}{p50 / base:>15.2f}x")
