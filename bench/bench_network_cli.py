"""Unchanged cisco.ios.ios_command over tether.fleet.network_cli against stock network_cli, measured in one run.

N tasks x M simulated Cisco IOS switches (default 20 x 5), each task one show command, two runs back to back
(run 2 finds what run 1 left warm), with bench/bench_playbooks.py's machinery (same inventory, commands,
output checks, CPU accounting, report). Variants:

  network_cli    cisco.ios.ios_command over ansible.netcommon.network_cli (stock)
  tether_netcli  the same playbook over tether.fleet.network_cli (only ansible_connection differs)
  tether         tether.fleet.cli_command (the collection's own module, pinned sessions)
  floor          ansible.builtin.debug, no device: Ansible's own cost of a task here

The broker process behind tether.fleet.network_cli is counted like tetherd: its CPU during each run is added
to the run's CPU (and shown in the tetherd column). Targets (ratios from the same run number):
tether_netcli >= 15x faster than network_cli, within 1.3x of tether, and run 2's first task as fast as the
later ones.

Run: python bench/bench_network_cli.py [--hosts 5] [--tasks 20] [--variants network_cli,tether_netcli,tether,floor]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_playbooks as bp

VARIANT = "tether_netcli"
bp.VARIANTS = (*bp.VARIANTS, VARIANT)
bp.TETHER_VARIANTS = (*bp.TETHER_VARIANTS, VARIANT)
bp.LABELS[VARIANT] = "tether.fleet.network_cli + ios_command"
DEFAULT_VARIANTS = f"network_cli,{VARIANT},tether,floor"


def broker_processes(runtime_dir: Path) -> list[psutil.Process]:
    """The tether.fleet broker started for this variant (found by its private XDG_RUNTIME_DIR)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if "_netcli_broker" in " ".join(process.info["cmdline"] or ()) and (
                process.environ().get("XDG_RUNTIME_DIR") == str(runtime_dir)
            ):
                found.append(process)
        except psutil.Error:
            continue
    return found


class NetworkCliBench(bp.Bench):
    def write_inventory(self, variant: str) -> Path:
        path = super().write_inventory("network_cli" if variant == VARIANT else variant)
        if variant != VARIANT:
            return path
        inventory = yaml.safe_load(path.read_text())
        group_vars = inventory["all"]["children"]["switches"]["vars"]
        group_vars["ansible_connection"] = "tether.fleet.network_cli"
        group_vars.pop("ansible_network_cli_ssh_type", None)
        target = self.workdir / f"inventory-{variant}.yml"
        target.write_text(yaml.safe_dump(inventory, sort_keys=False))
        return target

    def write_playbook(self, variant: str) -> Path:
        path = super().write_playbook("network_cli" if variant == VARIANT else variant)
        if variant != VARIANT:
            return path
        target = self.workdir / f"playbook-{variant}.yml"
        target.write_text(path.read_text().replace("bench network_cli", f"bench {variant}"))
        return target

    def run(self, variant: str, number: int, playbook: Path, env: dict[str, str]) -> bp.Run:
        if variant != VARIANT:
            return super().run(variant, number, playbook, env)
        runtime = self.runtime_dir(variant)
        before = {p.pid: bp.process_cpu(p.pid) for p in broker_processes(runtime)}
        for pid in before:  # a broker from run 1 is not a helper to wait for: it stays, like tetherd
            self.tetherd_pids[f"{variant}-broker-{pid}"] = pid
        run = super().run(variant, number, playbook, env)
        broker_cpu = sum(bp.process_cpu(p.pid) - before.get(p.pid, 0.0) for p in broker_processes(runtime))
        run.cpu += broker_cpu
        run.tetherd_cpu += broker_cpu
        run.uncounted = [u for u in run.uncounted if "_netcli_broker" not in u]
        return run


def netcli_targets(runs: list[bp.Run], args: argparse.Namespace) -> list[str]:
    by = {(r.variant, r.number): r for r in runs}
    host_tasks = args.hosts * args.tasks
    lines = ["", "tether.fleet.network_cli targets (same run number):"]
    for number in range(1, args.runs + 1):
        netcli = by.get((VARIANT, number))
        if netcli is None:
            continue
        parts = [f"run {number}: {netcli.in_play / host_tasks * 1000:.1f} ms per host-task in play"]
        stock, module = by.get(("network_cli", number)), by.get(("tether", number))
        if stock:
            faster = stock.in_play / netcli.in_play
            parts.append(
                f"stock network_cli / tether network_cli {faster:.1f}x ({'met' if faster >= 15 else 'MISSED'})"
            )
        if module:
            slower = netcli.in_play / module.in_play
            parts.append(
                f"tether network_cli / tether.fleet.cli_command {slower:.2f}x ({'met' if slower <= 1.3 else 'MISSED'})"
            )
        lines.append("  " + "; ".join(parts))
    first, second = by.get((VARIANT, 1)), by.get((VARIANT, 2))
    if first and second and len(second.task_ms) > 1:
        factor = second.first_task_ms / second.later_tasks_ms
        lines.append(
            f"  run 2's first task {second.first_task_ms:.0f} ms vs its later tasks (median) "
            f"{second.later_tasks_ms:.0f} ms: {factor:.2f}x ({'as warm' if factor <= 1.5 else 'NOT as warm'})"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a.startswith("--variants") for a in argv):
        argv += ["--variants", DEFAULT_VARIANTS]
    bp.Bench = NetworkCliBench  # type: ignore[misc]  # main() builds the bench from this name
    report: Callable[[list[bp.Run], argparse.Namespace], list[str]] = bp.report
    check: Callable[[str, list[bp.Run], argparse.Namespace], None] = bp.check_connections

    def report_with_targets(runs: list[bp.Run], args: argparse.Namespace) -> list[str]:
        return report(runs, args) + netcli_targets(runs, args)

    def check_connections(variant: str, runs: list[bp.Run], args: argparse.Namespace) -> None:
        # tether.fleet.network_cli holds pinned sessions, as tether.fleet.cli_command does.
        check("tether" if variant == VARIANT else variant, runs, args)

    bp.report = report_with_targets
    bp.check_connections = check_connections
    return int(bp.main(argv))


if __name__ == "__main__":
    sys.exit(main())
