"""The event bus and WatchEvents, measured.

Prints:
  - publish cost per event in this process (a job event built, serialized, numbered, retained),
    alone and with 4 publisher threads at once;
  - what the bus adds to a warm Execute on the null driver: tetherd as built against the same
    tetherd with every publisher stubbed out, interleaved rounds, p50 per round;
  - events/s delivered to 1 and to 10 watchers (separate processes) replaying a retained flood,
    and how far behind the live end they are when a bulk finishes.

Run: python bench/bench_events.py   (options: --calls 2000 --rounds 6 --flood 2)
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.harness import START_TIMEOUT, Tetherd  # noqa: E402
from tether.core.events import EventBus  # noqa: E402
from tether.v1 import messages as pb  # noqa: E402

NULL = {"host": "bench.null", "username": "u", "password": "p"}
# tetherd with every publisher a no-op: the "no bus" side of the comparison.
WITHOUT_EVENTS = """
import sys
from tether.core import events
for name in ("publish", "job", "target_finished", "job_finished", "session"):
    setattr(events.EventBus, name, lambda self, *args, **kwargs: 0)
for name in ("set", "call_succeeded"):
    setattr(events.DeviceStatusTracker, name, lambda self, *args, **kwargs: None)
from tether.cli.tetherd import main
sys.exit(main())
"""


class StubbedTetherd(Tetherd):
    """The same tetherd, started with the publishers stubbed out."""

    def start(self) -> Tetherd:
        command = [sys.executable, "-c", WITHOUT_EVENTS, "serve", "--listen", self.endpoint]
        command += ["--state-dir", str(self.state_dir), "--log-level", "info", *self.args]
        (self.workdir / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env={**os.environ, **self.env})
        deadline = time.monotonic() + START_TIMEOUT
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tetherd did not start: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.02)
        return self


def bench_publish(count: int) -> None:
    bus = EventBus(retention=100_000)
    record = pb.Job(id="0123456789ab00000001", kind=pb.JOB_KIND_EXECUTE, state=pb.JOB_STATE_RUNNING)
    result = pb.TargetResult(target="10.0.0.1:22", ok=True)
    started = time.perf_counter()
    for _ in range(count):
        bus.target_finished(record, result, 1, 1, 0)
    alone = (time.perf_counter() - started) / count * 1e6

    def publish() -> None:
        for _ in range(count // 4):
            bus.target_finished(record, result, 1, 1, 0)

    threads = [threading.Thread(target=publish) for _ in range(4)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    threaded = (time.perf_counter() - started) / count * 1e6
    print(f"## Publish cost ({count} job events, in process)")
    print(f"one thread: {alone:.2f} us/event; 4 threads at once: {threaded:.2f} us/event (wall / events)")


def silence(bus: EventBus) -> None:
    """Every publisher of ``bus`` a no-op (what tetherd would be without the bus)."""
    for name in ("publish", "publish_payload", "job", "target_finished", "job_finished", "session"):
        setattr(bus, name, lambda *args, **kwargs: 0)
    for name in ("set", "call_succeeded"):
        setattr(bus.devices, name, lambda *args, **kwargs: None)


def bench_executor(workdir: Path, calls: int, rounds: int) -> None:
    """Executor.execute in this process (no gRPC): two services on one loop, one with its bus silenced."""
    import uvloop

    from tether.api.server import Tetherd as Service
    from tether.config import load

    async def scenario() -> dict[str, list[float]]:
        services = {}
        for name in ("with events", "without"):
            directory = workdir / f"inproc-{name.replace(' ', '-')}"
            directory.mkdir()
            services[name] = Service(load(overrides={"listen": f"unix:{directory}/s.sock", "state_dir": directory}))
        silence(services["without"].events)
        request = pb.ExecuteRequest(
            driver="null", connection=pb.Connection(**NULL), operation=pb.Operation(commands=["show clock"])
        )
        results: dict[str, list[float]] = {name: [] for name in services}
        for _ in range(rounds):
            for name, service in services.items():
                await service.executor.execute(request)
                samples = []
                for _ in range(calls):
                    started = time.perf_counter()
                    await service.executor.execute(request)
                    samples.append((time.perf_counter() - started) * 1e6)
                results[name].append(statistics.median(samples))
        for service in services.values():
            await service.pool.shutdown()
            service.store.close()
        return results

    results = uvloop.run(scenario())
    print(f"\n## Executor.execute in process, null driver ({rounds} rounds x {calls} calls, p50 per round, us)")
    for name, values in results.items():
        print(f"{name:<12} median {statistics.median(values):.1f}  rounds {' '.join(f'{v:.1f}' for v in values)}")
    added = statistics.median(results["with events"]) - statistics.median(results["without"])
    print(f"the bus adds {added:+.1f} us per Execute (3 job events each)")


def p50_ms(daemon: Tetherd, calls: int) -> float:
    client = daemon.client()
    client.execute(NULL, ["show clock"], driver="null")
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        client.execute(NULL, ["show clock"], driver="null")
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def bench_execute(workdir: Path, calls: int, rounds: int) -> None:
    with_bus = Tetherd(workdir / "with", args=["--log-level", "info"]).start()  # as the stubbed one: no debug lines
    without = StubbedTetherd(workdir / "without").start()
    try:
        results: dict[str, list[float]] = {"with events": [], "without": []}
        for _ in range(rounds):  # interleaved: the machine's load drifts
            results["with events"].append(p50_ms(with_bus, calls))
            results["without"].append(p50_ms(without, calls))
    finally:
        with_bus.stop()
        without.stop()
    print(f"\n## Warm Execute, null driver ({rounds} rounds x {calls} calls, p50 per round, ms)")
    for name, values in results.items():
        spread = max(values) - min(values)
        print(f"{name:<12} median {statistics.median(values):.3f}  rounds {' '.join(f'{v:.3f}' for v in values)}")
        print(f"{'':<12} spread between rounds {spread:.3f}")
    added = statistics.median(results["with events"]) - statistics.median(results["without"])
    print(f"the bus adds {added * 1000:+.1f} us per Execute (3 job events each), against the spreads above")


def watch(endpoint: str, after: int, until: int, ready: multiprocessing.Queue, done: multiprocessing.Queue) -> None:
    import grpc

    from tether.v1.events_pb2_grpc import EventsStub

    channel = grpc.insecure_channel(endpoint)
    call = EventsStub(channel).WatchEvents(pb.WatchEventsRequest(after_seq=after))
    call.initial_metadata()
    ready.put(os.getpid())
    count, started, delay = 0, time.perf_counter(), 0.0
    for event in call:
        count += 1
        if event.seq >= until:
            delay = time.time() - event.time  # from its publication to here (one machine, one clock)
            break
    done.put((count, time.perf_counter() - started, delay))
    call.cancel()
    channel.close()


def flood(daemon: Tetherd, bulks: int) -> None:
    client = daemon.client()
    request = pb.BulkRequest(
        driver="null",
        defaults=pb.Connection(host="flood.null", username="u", password="p"),
        targets=[pb.Target(name=f"t{n}") for n in range(10_000)],
        operation=pb.Operation(commands=["x"]),
    )
    for _ in range(bulks):
        for _ in client.bulk(request):
            pass


def bench_watchers(workdir: Path, bulks: int) -> None:
    daemon = Tetherd(workdir / "watch", ["--log-level", "info"], {"TETHER_EVENT_RETENTION": "200000"}).start()
    context = multiprocessing.get_context("spawn")  # no gRPC channel crosses a fork
    try:
        before = daemon.client().info().event_seq
        flood(daemon, bulks)
        newest = daemon.client().info().event_seq
        print(f"\n## Events/s to watchers (replaying {newest - before} retained events, each watcher a process)")
        for watchers in (1, 10):
            ready, done = context.Queue(), context.Queue()
            processes = [
                context.Process(target=watch, args=(daemon.endpoint, before, newest, ready, done))
                for _ in range(watchers)
            ]
            for process in processes:
                process.start()
            results = [done.get(timeout=600) for _ in processes]
            for process in processes:
                process.join(10)
            total = sum(count for count, _, _ in results)
            wall = max(elapsed for _, elapsed, _ in results)
            per = statistics.median(count / elapsed for count, elapsed, _ in results)
            print(f"{watchers:>2} watcher(s): {total / wall:,.0f} events/s in all, {per:,.0f} per watcher")
        # Live: 10 watchers following while a bulk publishes; how long after the bulk ends the last one is done.
        start = daemon.client().info().event_seq
        ready, done = context.Queue(), context.Queue()
        expected = start + 2 * 10_000 + 2
        processes = [
            context.Process(target=watch, args=(daemon.endpoint, start, expected, ready, done)) for _ in range(10)
        ]
        for process in processes:
            process.start()
        for _ in processes:
            ready.get(timeout=120)
        started = time.time()
        flood(daemon, 1)
        ended = time.time()
        results = [done.get(timeout=600) for _ in processes]
        for process in processes:
            process.join(10)
        lag = max(delay for _, _, delay in results)
        rate = (daemon.client().info().event_seq - start) / (ended - started)
        print(
            f"live: a bulk published {rate:,.0f} events/s to 10 following watchers; its last event "
            f"reached the slowest {lag * 1000:.1f} ms after it was published"
        )
    finally:
        daemon.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--publish", type=int, default=200_000, help="events published in process")
    parser.add_argument("--calls", type=int, default=2_000, help="Execute calls per round and variant")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--flood", type=int, default=2, help="bulks of 10,000 targets (20,000 events each)")
    args = parser.parse_args()
    bench_publish(args.publish)
    with tempfile.TemporaryDirectory(prefix="tether-bench-events-") as temp:
        bench_executor(Path(temp), args.calls, args.rounds)
        bench_execute(Path(temp), args.calls, args.rounds)
        bench_watchers(Path(temp), args.flood)
    return 0


if __name__ == "__main__":
    sys.exit(main())
