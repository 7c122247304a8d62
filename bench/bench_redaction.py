"""What masking secrets costs: the redactor on a 1 MB running configuration and on hostile input.

    python bench/bench_redaction.py [--size-mb 1] [--runs 5]

Prints the median milliseconds per call (lower is better). The patterns must stay linear:
hostile input (a keyword repeated, long token runs) should cost the same order as a real config.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from tether.drivers.contract import ConnectionSpec
from tether.security.redaction import Redactor, mask_config_secrets


def running_config(size: int) -> str:
    parts = ["Building configuration...\n", "hostname sw1\n", "enable secret 5 $1$abc$def\n"]
    parts += ["username admin privilege 15 secret 5 $1$x\n", "snmp-server community PUB RO\n"]
    index = 0
    while sum(map(len, parts)) < size:
        parts.append(
            f"interface GigabitEthernet1/0/{index}\n description uplink {index}\n switchport mode access\n"
            f" switchport access vlan {index % 4000}\n ip ospf message-digest-key 1 md5 7 KEY{index}\n!\n"
        )
        index += 1
    return "".join(parts)


def median_ms(call: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    size = int(args.size_mb * 1_000_000)
    config = running_config(size)
    redact = Redactor.for_specs([ConnectionSpec(host="h", port=22, platform="cisco_ios", password="pw-123456")])
    cases: dict[str, Callable[[], object]] = {
        "running-config, ios patterns": lambda: mask_config_secrets(config),
        "running-config, junos patterns": lambda: mask_config_secrets(config, "junos"),
        "running-config, whole redactor": lambda: redact(config),
        "hostile: 'password ' repeated": lambda: mask_config_secrets("password " * (size // 9)),
        "hostile: 'tacacs-server x x x ...'": lambda: mask_config_secrets("tacacs-server" + " x" * (size // 2)),
        "hostile: 'tacacs-server ' repeated": lambda: mask_config_secrets("tacacs-server " * (size // 14)),
        "hostile: one long token": lambda: mask_config_secrets("snmp-server host " + "x" * size),
    }
    print(f"{len(config) / 1e6:.2f} MB, median of {args.runs} runs")
    for name, call in cases.items():
        print(f"  {name:38s} {median_ms(call, args.runs):8.1f} ms")


if __name__ == "__main__":
    main()
