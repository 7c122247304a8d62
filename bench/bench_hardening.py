"""What hardening costs: this tree's tetherd against a baseline ref's, side by side in one run.

The baseline (default a3b5eba, the commit before the hardening work) is checked out
into a temporary ``git worktree``; one tetherd runs from it (PYTHONPATH=<baseline>/service)
and one from this tree, and every measurement alternates between the two in rounds, so
the machine's background load falls on both alike. Figures:

  - warm Execute p50 on the null driver (the service's own cost: now a commit per reply)
  - warm Execute p50 on a simulated Cisco switch (netmiko driver)
  - calls/s of 32 concurrent clients on the null driver (group commit under load)
  - warm Execute p50 on the switch with a user ``expect_prompt`` (the user-regex path)

Targets: warm Execute p50 rises by at most 0.3 ms; 32 clients lose at most 10% of calls/s.

Run: python bench/bench_hardening.py [--baseline REF] [--calls 300] [--rounds 4] [--seconds 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _measure import timed  # noqa: E402

from tests.harness import Tetherd  # noqa: E402
from tests.peers.switches import start_switches  # noqa: E402
from tether.client import ClientConfig, TetherClient  # noqa: E402

SIDES = ("baseline", "this tree")
NULL = {"host": "bench.null", "username": "u", "password": "p"}
COMMAND = "show version"
PROMPT = r"sw\d+[>#]"


@contextmanager
def baseline_tree(ref: str, workdir: Path) -> Iterator[Path]:
    path = workdir / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(path), ref], check=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)


def switch_connection(switch: object) -> dict[str, object]:
    return {
        "host": switch.host,  # type: ignore[attr-defined]
        "port": switch.port,  # type: ignore[attr-defined]
        "platform": "cisco_ios",
        "username": switch.username,  # type: ignore[attr-defined]
        "password": switch.password,  # type: ignore[attr-defined]
        "secret": switch.enable_password,  # type: ignore[attr-defined]
    }


def alternate(
    daemons: dict[str, Tetherd], rounds: int, measure: Callable[[TetherClient], list[float]]
) -> dict[str, list[float]]:
    clients = {side: daemon.client() for side, daemon in daemons.items()}
    for client in clients.values():
        measure(client)  # warm: session open, caches filled
    samples: dict[str, list[float]] = {side: [] for side in daemons}
    for _ in range(rounds):
        for side in daemons:
            samples[side].extend(measure(clients[side]))
    return samples


def _client_process(endpoint: str, first: int, clients: int, seconds: float, ready: Any, results: Any) -> None:
    """``clients`` threads, each with its own channel; they call for ``seconds`` once every process is ready."""
    counts = [0] * clients
    connected = threading.Barrier(clients + 1)
    go = threading.Event()

    def run(index: int) -> None:
        with TetherClient(ClientConfig(endpoint=endpoint, timeout=60)) as client:
            connection = {**NULL, "host": f"bench{(first + index) % 8}.null"}
            client.execute(connection, [COMMAND], driver="null")
            connected.wait()
            go.wait()
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                client.execute(connection, [COMMAND], driver="null")
                counts[index] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    connected.wait()
    ready.wait()
    go.set()
    for thread in threads:
        thread.join()
    results.put(sum(counts))


def calls_per_second(daemon: Tetherd, clients: int, seconds: float, processes: int) -> float:
    """Calls/s of ``clients`` concurrent clients, spread over client processes (one GIL is not the limit)."""
    context = multiprocessing.get_context("spawn")  # no gRPC state crosses a fork
    ready = context.Barrier(processes + 1)
    results = context.SimpleQueue()
    share = [clients // processes + (i < clients % processes) for i in range(processes)]
    workers = [
        context.Process(target=_client_process, args=(daemon.endpoint, sum(share[:i]), n, seconds, ready, results))
        for i, n in enumerate(share)
    ]
    for worker in workers:
        worker.start()
    ready.wait(timeout=120)
    for worker in workers:
        worker.join(seconds + 60)
    return sum(results.get() for _ in workers) / seconds


def print_table(rows: list[tuple[str, float, float, str, str]]) -> None:
    print(f"\n{'measure':<46}{'baseline':>11}{'this tree':>11}{'ratio':>8}{'delta':>11}  target")
    for name, base, now, delta, target in rows:
        print(f"{name:<46}{base:>11.3f}{now:>11.3f}{now / base:>7.2f}x{delta:>11}  {target}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="a3b5eba", help="git ref to compare against")
    parser.add_argument("--calls", type=int, default=300, help="calls per side per round (latency)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0, help="per side per round (throughput)")
    parser.add_argument("--client-processes", type=int, default=4, help="processes the clients are spread over")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="tether-bench-hardening-") as tmp,
        baseline_tree(args.baseline, Path(tmp)) as baseline,
    ):
        trees = {"baseline": baseline, "this tree": ROOT}
        daemons = {
            side: Tetherd(Path(tmp) / f"d{i}", ["--log-level", "warning"], {"PYTHONPATH": str(tree / "service")})
            for i, (side, tree) in enumerate(trees.items())
        }
        farm = start_switches(1)
        try:
            for daemon in daemons.values():
                daemon.start()
            device = switch_connection(farm.switches[0])
            rows: list[tuple[str, float, float, str, str]] = []

            def latency_row(name: str, measure: Callable[[TetherClient], list[float]]) -> None:
                samples = alternate(daemons, args.rounds, measure)
                base, now = (statistics.median(samples[side]) for side in SIDES)
                rows.append((f"{name} p50 ms", base, now, f"{now - base:+.3f} ms", "+<=0.3 ms"))

            latency_row(
                "warm Execute, null driver",
                lambda c: timed(lambda: c.execute(NULL, [COMMAND], driver="null"), args.calls),
            )
            switch_calls = args.calls
            latency_row(
                "warm Execute, simulated switch",
                lambda c: timed(lambda: c.execute(device, [COMMAND]), switch_calls),
            )
            latency_row(
                "warm Execute, switch, user expect_prompt",
                lambda c: timed(lambda: c.execute(device, [COMMAND], expect_prompt=PROMPT), switch_calls),
            )
            rates: dict[str, list[float]] = {side: [] for side in SIDES}
            for _ in range(max(2, args.rounds // 2)):
                for side in SIDES:
                    rates[side].append(
                        calls_per_second(daemons[side], args.clients, args.seconds, args.client_processes)
                    )
            base, now = (statistics.median(rates[side]) for side in SIDES)
            rows.append(
                (
                    f"{args.clients} clients, null driver, calls/s",
                    base,
                    now,
                    f"{(now / base - 1) * 100:+.1f} %",
                    ">=-10 %",
                )
            )
        finally:
            farm.stop()
            for daemon in daemons.values():
                daemon.stop()
    print(f"baseline {args.baseline} vs this tree ({ROOT}); {args.rounds} alternating rounds")
    print(f"user expect_prompt: {PROMPT!r}; ratio: this tree / baseline")
    print_table(rows)
    print(
        "calls/s per round (the median is in the table): "
        + "; ".join(f"{side} {', '.join(f'{rate:.0f}' for rate in rates[side])}" for side in SIDES)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
