"""A napalm getter through tetherd's warm session vs napalm open + getter + close per call.

napalm-ansible's modules and Salt's napalm execution modules open a napalm connection,
run one getter and close it again, for every task. tetherd keeps the napalm device
object open in a pinned session. Both run ``get_facts`` (napalm ``ios``) against the
same simulated Cisco switch, interleaved in rounds so the machine's background load
falls on both alike; the figure is the ratio of medians from this one run.

    python bench/bench_napalm.py [--calls 20] [--rounds 3] [--target 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _measure import timed  # noqa: E402
from napalm import get_network_driver  # noqa: E402

from tests.harness import Tetherd  # noqa: E402
from tests.peers.switches import start_switches  # noqa: E402
from tether.v1 import messages as pb  # noqa: E402


def per_call_napalm(switch: Any) -> Callable[[], Any]:
    def call() -> Any:
        device = get_network_driver("ios")(
            switch.host,
            switch.username,
            switch.password,
            optional_args={"port": switch.port, "secret": switch.enable_password},
        )
        device.open()
        try:
            facts = device.get_facts()
        finally:
            device.close()
        assert facts["vendor"] == "Cisco"
        return facts

    return call


def through_tetherd(daemon: Tetherd, switch: Any) -> Callable[[], Any]:
    client = daemon.client()
    request = pb.ExecuteRequest(
        driver="napalm",
        connection=pb.Connection(
            host=switch.host,
            port=switch.port,
            platform="ios",
            username=switch.username,
            password=switch.password,
            secret=switch.enable_password,
        ),
        operation=pb.Operation(getters=[pb.GetterCall(name="get_facts")]),
    )

    def call() -> Any:
        response = client.run(request)
        assert response.ok and response.getters[0].data.struct_value.fields["vendor"].string_value == "Cisco"
        return response

    return call


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="calls per variant per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--target", type=float, default=20.0, help="the ratio to reach")
    args = parser.parse_args()
    farm = start_switches(1)
    with tempfile.TemporaryDirectory(prefix="bench-napalm-") as workdir:
        daemon = Tetherd(Path(workdir) / "tetherd").start()
        try:
            switch = farm.switches[0]
            warm = through_tetherd(daemon, switch)
            cold = per_call_napalm(switch)
            warm()  # opens the pinned session: the figure is the warm call
            samples: dict[str, list[float]] = {"tetherd (warm)": [], "napalm per call": []}
            for _ in range(args.rounds):
                samples["tetherd (warm)"] += timed(warm, args.calls)
                samples["napalm per call"] += timed(cold, max(1, args.calls // 4))
            opened = dict(daemon.client().info().counters)["connections_opened"]
        finally:
            daemon.stop()
            farm.stop()
    print(f"napalm ios get_facts on the simulated switch ({args.rounds} rounds, medians)")
    print(f"{'variant':<20} {'calls':>6} {'median ms':>10} {'p90 ms':>8}")
    for name, values in samples.items():
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else values[0]
        print(f"{name:<20} {len(values):>6} {statistics.median(values):>10.1f} {p90:>8.1f}")
    ratio = statistics.median(samples["napalm per call"]) / statistics.median(samples["tetherd (warm)"])
    print(f"ratio: {ratio:.1f}x (target {args.target:g}x); tetherd opened {opened} connection(s)")
    return 0 if ratio >= args.target and opened == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
