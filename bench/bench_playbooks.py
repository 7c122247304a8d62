"""The same playbook through tether and through network_cli, measured in one run on the same simulator.

N tasks x M simulated Cisco IOS switches (default 20 x 5, forks = M), each task one show command,
run twice in a row (run 1: nothing warm; run 2: whatever run 1 left behind), for each variant:

  tether        tether.fleet.cli_command, pinned sessions (the default): tetherd keeps one warm SSH
                session per device across tasks and across playbook runs
  oneshot       tether.fleet.cli_command with pinned sessions off: connect, run, disconnect per task
  network_cli   cisco.ios.ios_command over ansible.netcommon.network_cli (collections from the community
                `ansible` package: bench/setup_baseline.sh puts them in build/baseline-collections)
  floor         (only when named) ansible.builtin.debug, no device: what any action-only task costs
                Ansible itself here, the floor under tether's per-task figure

For each run: wall time and CPU seconds of everything the run started (ansible-playbook, its workers,
network_cli's ansible-connection helpers, and for tether the CPU that tetherd spent during the run),
the per-task figures, and the ratios against tether pinned in the same run number. For tether: the
service's connections_opened counter after each run. Each run must succeed (rc 0, every host-task ok,
each output from the right device), or the benchmark stops with the reason.

Isolation: a private temp dir holds the inventory, playbooks, ansible.cfg, ANSIBLE_HOME, the persistent
connection sockets and, per tether variant, its own XDG_RUNTIME_DIR, so the auto-started tetherd is this
benchmark's own (it is stopped at the end). Ports come from the OS.

Run: python bench/bench_playbooks.py [--hosts 5] [--tasks 20] [--variants tether,oneshot,network_cli] [--runs 2]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.peers.switches import SwitchFarm, start_switches  # noqa: E402

BASELINE = ROOT / "build" / "baseline-collections"
PYDEPS = ROOT / "build" / "baseline-pydeps"  # ansible-pylibssh, private to the benchmark (setup_baseline.sh)
SETUP_BASELINE = ROOT / "bench" / "setup_baseline.sh"
VARIANTS = ("tether", "oneshot", "network_cli")
TETHER_VARIANTS = ("tether", "oneshot")
EXTRA_VARIANTS = ("floor",)  # not run unless named: Ansible's own cost of an action-only task here
LABELS = {
    "tether": "tether pinned",
    "oneshot": "tether connect-per-task",
    "network_cli": "network_cli + ios_command",
    "floor": "floor: ansible.builtin.debug",
}
# (command, text its output must hold). Every one answers on the simulator; {name} is the device's
# hostname, so the check also proves the output came from the right device; {port} varies per task.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("show version", "Cisco IOS Software"),
    ("show running-config", "hostname {name}"),
    ("show vlan brief", "VLAN Name"),
    ("show ip interface brief", "FastEthernet0/{port}"),
    ("show running-config interface FastEthernet0/{port}", "interface FastEthernet0/{port}"),
    ("show etherchannel summary", "Flags:"),
    ("show vlan", "VLAN Name"),
    ("show privilege", "Current privilege level is 15"),
    ("show running-config | include hostname", "hostname {name}"),
)
PR_SET_CHILD_SUBREAPER = 36
REAP_TIMEOUT = 20.0  # network_cli's ansible-connection helpers exit once ansible-playbook resets them

# An aggregate callback, enabled for the benchmark only: when each task starts, how each host-task
# ended, and its first output (to check it), written as JSON where BENCH_TIMING_FILE says.
CALLBACK = """
from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tasks = []
        self.results = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.tasks.append({"name": task.get_name(), "start": time.time()})

    def _record(self, result, status):
        data = getattr(result, "result", None)
        if data is None:
            data = result._result
        stdout = data.get("stdout")
        session = data.get("session")
        self.results.append({
            "time": time.time(),
            "task": result.task.get_name() if hasattr(result, "task") else result._task.get_name(),
            "host": result.host.get_name() if hasattr(result, "host") else result._host.get_name(),
            "status": status,
            "failed": bool(data.get("failed")),
            "msg": str(data.get("msg", ""))[:1000],
            "stdout": [str(s)[:8000] for s in stdout] if isinstance(stdout, list) else None,
            "session": session if isinstance(session, dict) else None,
        })

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("BENCH_TIMING_FILE")
        if path:
            with open(path, "w") as out:
                json.dump({"tasks": self.tasks, "results": self.results, "end": time.time()}, out)
"""


class BenchError(RuntimeError):
    """A run failed or measured something other than what it claims: the message says what."""


@dataclass
class Run:
    variant: str
    number: int
    wall: float  # s, ansible-playbook start to exit
    cpu: float  # s, user + system of the run's whole process tree, tetherd's share included
    startup: float  # s, process start to the first task's start
    in_play: float  # s, the first task's start to the last result
    task_ms: list[float]  # per task (all hosts in parallel), from one task's start to the next's
    connections: int | None = None  # tetherd connections_opened after the run
    tetherd_cpu: float = 0.0  # s, included in cpu
    device_cpu: float = 0.0  # s, the simulator's (the devices' side: not in cpu)
    service_ms: dict[str, float] = field(default_factory=dict)  # tether: medians of the module's session timings
    helpers: int = 0  # daemonized helpers (ansible-connection) reaped here, their CPU counted
    uncounted: list[str] = field(default_factory=list)  # helpers still alive when the CPU was read

    @property
    def first_task_ms(self) -> float:
        return self.task_ms[0]

    @property
    def later_tasks_ms(self) -> float:
        return statistics.median(self.task_ms[1:]) if len(self.task_ms) > 1 else float("nan")


@dataclass
class Bench:
    args: argparse.Namespace
    workdir: Path
    farm: SwitchFarm
    playbook_cmd: str
    tether_oneshot: dict[str, Any]  # the module option that turns pinned sessions off
    ssh_type: str  # network_cli's: libssh or paramiko
    tetherd_pids: dict[str, int] = field(default_factory=dict)

    # -- files -------------------------------------------------------------------------------

    def commands(self) -> list[tuple[str, str]]:
        picked = []
        for index in range(self.args.tasks):
            command, expect = COMMANDS[index % len(COMMANDS)]
            port = index % 12 + 1  # FastEthernet0/1..12
            picked.append((command.replace("{port}", str(port)), expect.replace("{port}", str(port))))
        return picked

    def write_inventory(self, variant: str) -> Path:
        hosts: dict[str, Any] = {}
        for switch in self.farm.switches:
            hosts[switch.name] = {
                "ansible_host": switch.host,
                "ansible_port": switch.port,
                "ansible_user": switch.username,  # privilege 15: lands in "sw01#", no enable/become needed
                "ansible_password": switch.password,
            }
        group_vars: dict[str, Any] = {
            "ansible_network_os": "cisco.ios.ios",
            "ansible_python_interpreter": sys.executable,
        }
        if variant == "network_cli":
            group_vars["ansible_connection"] = "ansible.netcommon.network_cli"
            group_vars["ansible_network_cli_ssh_type"] = self.ssh_type
        else:
            # The collection's modules run on the controller and talk to tetherd; the task's connection is
            # not used (ansible.netcommon.network_cli would do as well: it is never started for them).
            group_vars["ansible_connection"] = "local"
        inventory = {"all": {"children": {"switches": {"hosts": hosts, "vars": group_vars}}}}
        path = self.workdir / f"inventory-{variant}.yml"
        path.write_text(yaml.safe_dump(inventory, sort_keys=False))
        return path

    def write_playbook(self, variant: str) -> Path:
        tasks = []
        for index, (command, _) in enumerate(self.commands(), 1):
            if variant == "network_cli":
                task: dict[str, Any] = {"cisco.ios.ios_command": {"commands": [command]}}
            elif variant == "floor":
                task = {"ansible.builtin.debug": {"msg": command}}
            else:
                options: dict[str, Any] = {"commands": [command]}
                if variant == "oneshot":
                    options.update(self.tether_oneshot)
                task = {"tether.fleet.cli_command": options}
            tasks.append({"name": task_name(index, command), **task})
        play = [{"name": f"bench {variant}", "hosts": "switches", "gather_facts": False, "tasks": tasks}]
        path = self.workdir / f"playbook-{variant}.yml"
        path.write_text(yaml.safe_dump(play, sort_keys=False, width=200))
        return path

    def write_config(self, variant: str, inventory: Path) -> Path:
        callbacks = self.workdir / "callback_plugins"
        callbacks.mkdir(exist_ok=True)
        (callbacks / "bench_timing.py").write_text(CALLBACK.lstrip())
        collections = [self.workdir / "collections", BASELINE]
        config = f"""\
[defaults]
inventory = {inventory}
forks = {self.args.forks or self.args.hosts}
collections_path = {os.pathsep.join(str(p) for p in collections)}
callback_plugins = {callbacks}
callbacks_enabled = bench_timing
host_key_checking = False
retry_files_enabled = False
local_tmp = {self.workdir / "ansible-local-tmp"}
interpreter_python = {sys.executable}

[persistent_connection]
control_path_dir = {self.workdir / "pc"}
"""
        path = self.workdir / f"ansible-{variant}.cfg"
        path.write_text(config)
        return path

    def environment(self, variant: str, config: Path) -> dict[str, str]:
        # Nothing from the caller's Ansible or tether settings: the benchmark's own config and service only.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "TETHER_"))}
        env.update(
            ANSIBLE_CONFIG=str(config),
            ANSIBLE_HOME=str(self.workdir / "ansible-home"),
            ANSIBLE_NOCOWS="1",
            ANSIBLE_FORCE_COLOR="0",
            XDG_RUNTIME_DIR=str(self.runtime_dir(variant)),
        )
        if variant == "network_cli" and self.ssh_type == "libssh":
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PYDEPS), env.get("PYTHONPATH")) if p)
        return env

    def runtime_dir(self, variant: str) -> Path:
        path = self.workdir / f"xdg-{variant}"
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def endpoint(self, variant: str) -> str:
        return f"unix:{self.runtime_dir(variant) / 'tether' / 'tetherd.sock'}"

    # -- tetherd -----------------------------------------------------------------------------

    def tetherd_info(self, variant: str) -> tuple[int, dict[str, int]]:
        """(pid, counters) of the variant's own tetherd."""
        from tether.client import ClientConfig, TetherClient

        client = TetherClient(ClientConfig(endpoint=self.endpoint(variant), timeout=10.0))
        try:
            info = client.info()
            return int(info.pid), dict(info.counters)
        finally:
            client.close()

    def stop_tetherd(self, variant: str) -> None:
        pid = self.tetherd_pids.pop(variant, None)
        if pid is None:
            return
        try:
            process = psutil.Process(pid)
            if "tether" not in " ".join(process.cmdline()):
                return  # not the service this benchmark started: leave it alone
            process.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            return
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if reap(pid) or not psutil.pid_exists(pid):
                return
            time.sleep(0.05)
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
        reap(pid, block=True)

    # -- one run -----------------------------------------------------------------------------

    def run(self, variant: str, number: int, playbook: Path, env: dict[str, str]) -> Run:
        timing_file = self.workdir / f"timing-{variant}-{number}.json"
        log_path = self.workdir / f"ansible-{variant}-{number}.log"
        env = {**env, "BENCH_TIMING_FILE": str(timing_file)}
        command = [self.playbook_cmd, str(playbook)]
        if self.args.verbose:
            command.append("-" + "v" * self.args.verbose)
        tetherd_before = self.tetherd_cpu(variant)
        device_before = process_cpu(self.farm.pid)
        known = {p for p in (self.farm.pid, *self.tetherd_pids.values()) if p}
        usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started_wall = time.time()
        started = time.perf_counter()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                rc = process.wait(timeout=self.args.run_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise BenchError(
                    f"{variant} run {number}: no end after {self.args.run_timeout:.0f} s; log {log_path}:"
                    f"\n{tail(log_path)}"
                ) from None
        wall = time.perf_counter() - started
        connections = None
        if variant in TETHER_VARIANTS:
            try:
                pid, counters = self.tetherd_info(variant)
            except Exception as exc:  # noqa: BLE001 - reported with the run's log
                raise BenchError(
                    f"{variant} run {number}: tetherd does not answer on {self.endpoint(variant)} "
                    f"({exc}); log {log_path}:\n{tail(log_path)}"
                ) from None
            self.tetherd_pids[variant] = pid
            known.add(pid)
            connections = int(counters.get("connections_opened", -1))
        helpers, uncounted = reap_orphans(known, REAP_TIMEOUT)
        usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        tetherd_cpu = self.tetherd_cpu(variant) - tetherd_before
        device_cpu = process_cpu(self.farm.pid) - device_before
        cpu = (usage_after.ru_utime - usage_before.ru_utime) + (usage_after.ru_stime - usage_before.ru_stime)
        if rc != 0:
            raise BenchError(
                f"{variant} run {number}: ansible-playbook exited with {rc}; log {log_path}:\n{tail(log_path)}"
            )
        timing = self.check_results(variant, number, timing_file, log_path)
        starts = [t["start"] for t in timing["tasks"]]
        end = max(r["time"] for r in timing["results"])
        task_ms = [(b - a) * 1000 for a, b in zip(starts, [*starts[1:], end], strict=True)]
        sessions = [r["session"] for r in timing["results"] if r.get("session")]
        service_ms = {
            key: statistics.median(float(x.get(key) or 0.0) for x in sessions)
            for key in ("connect_ms", "run_ms", "queued_ms")
            if sessions
        }
        return Run(
            variant=variant,
            number=number,
            wall=wall,
            cpu=cpu + tetherd_cpu,
            startup=starts[0] - started_wall,
            in_play=end - starts[0],
            task_ms=task_ms,
            connections=connections,
            tetherd_cpu=tetherd_cpu,
            device_cpu=device_cpu,
            service_ms=service_ms,
            helpers=helpers,
            uncounted=uncounted,
        )

    def tetherd_cpu(self, variant: str) -> float:
        return process_cpu(self.tetherd_pids.get(variant))

    def check_results(self, variant: str, number: int, timing_file: Path, log_path: Path) -> dict[str, Any]:
        """Every host-task ok, with the output its command gives on that device; the timing data."""
        where = f"{variant} run {number}"
        try:
            timing: dict[str, Any] = json.loads(timing_file.read_text())
        except (OSError, ValueError) as exc:
            raise BenchError(f"{where}: no timing data ({exc}); log {log_path}:\n{tail(log_path)}") from None
        expected_tasks = [task_name(i, c) for i, (c, _) in enumerate(self.commands(), 1)]
        if [t["name"] for t in timing["tasks"]] != expected_tasks:
            raise BenchError(f"{where}: the play ran tasks {[t['name'] for t in timing['tasks']]}, not the playbook's")
        expect = {task_name(i, c): e for i, (c, e) in enumerate(self.commands(), 1)}
        seen: set[tuple[str, str]] = set()
        problems: list[str] = []
        for result in timing["results"]:
            key = (result["task"], result["host"])
            seen.add(key)
            if result["status"] != "ok" or result["failed"]:
                problems.append(f"{result['host']} {result['task']}: {result['status']}: {result['msg']}")
                continue
            if variant == "floor":  # no device: nothing to check but the status
                continue
            marker = expect[result["task"]].replace("{name}", result["host"])
            stdout = result["stdout"] or []
            if len(stdout) != 1 or marker not in stdout[0]:
                problems.append(f"{result['host']} {result['task']}: output lacks {marker!r}: {stdout!r:.300}")
        missing = [f"{h} {t}" for t in expected_tasks for h in self.host_names() if (t, h) not in seen]
        if missing:
            problems.append(f"{len(missing)} host-task(s) without a result: {', '.join(missing[:5])}")
        if problems:
            listed = "\n  ".join(problems[:10])
            raise BenchError(f"{where}: {len(problems)} problem(s):\n  {listed}\nlog {log_path}:\n{tail(log_path)}")
        return timing

    def host_names(self) -> list[str]:
        return [s.name for s in self.farm.switches]


# -- helpers ---------------------------------------------------------------------------------


def task_name(index: int, command: str) -> str:
    return f"t{index:02d} {command}"


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def become_subreaper() -> bool:
    """Adopt the run's orphans (network_cli's ansible-connection helpers, the auto-started tetherd).

    Both daemonize, so RUSAGE_CHILDREN of ansible-playbook never holds their CPU; as this process's
    adopted children, an exited helper is reaped here and its CPU lands in our RUSAGE_CHILDREN.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def process_cpu(pid: int | None) -> float:
    """User + system CPU seconds of one process so far (0 when it is gone)."""
    if pid is None:
        return 0.0
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(times.user + times.system)


def reap(pid: int, block: bool = False) -> bool:
    try:
        done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return not psutil.pid_exists(pid)
    return done == pid


def reap_orphans(known: set[int], timeout: float) -> tuple[int, list[str]]:
    """Wait (bounded) for adopted children other than ``known`` to exit, reaping them.

    Returns how many were reaped, and those still alive at the deadline."""
    deadline = time.monotonic() + timeout
    reaped = 0
    while True:
        alive: list[psutil.Process] = []
        for child in psutil.Process().children():
            if child.pid in known:
                continue
            if reap(child.pid):
                reaped += 1
            else:
                alive.append(child)
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    described = []
    for child in alive:
        with contextlib.suppress(psutil.Error):
            described.append(f"{child.pid} {' '.join(child.cmdline())[:80]}")
    return reaped, described


def find_playbook_command() -> str:
    beside = Path(sys.executable).with_name("ansible-playbook")
    found = str(beside) if beside.exists() else shutil.which("ansible-playbook")
    if not found:
        raise BenchError("ansible-playbook not found beside this Python or on PATH")
    return found


def tether_readiness(workdir: Path, env: dict[str, str]) -> tuple[str | None, dict[str, Any]]:
    """(why the tether variants cannot run or None, the module option for connect-per-task)."""
    needed = [
        ROOT / "galaxy.yml",
        ROOT / "plugins" / "action" / "cli_command.py",
        ROOT / "plugins" / "modules" / "cli_command.py",
    ]
    missing = [str(p.relative_to(ROOT)) for p in needed if not p.exists()]
    if missing:
        return f"the collection tether.fleet is not there yet ({', '.join(missing)} missing)", {}
    try:
        import tether.client  # noqa: F401
    except ImportError as exc:
        return f"the Python package tether is not importable ({exc}): pip install -e service", {}
    doc = Path(sys.executable).with_name("ansible-doc")
    command = [str(doc) if doc.exists() else "ansible-doc", "--json", "tether.fleet.cli_command"]
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=120, check=False)
    try:
        options = json.loads(done.stdout)["tether.fleet.cli_command"]["doc"]["options"]
    except (ValueError, KeyError, TypeError):
        return f"ansible-doc cannot read tether.fleet.cli_command: {(done.stderr or done.stdout).strip()[-500:]}", {}
    if "mode" in options:
        return None, {"mode": "oneshot"}
    if "pinned" in options:
        return None, {"pinned": False}
    return None, {}


def resolve_ssh_type(choice: str) -> str:
    present = (PYDEPS / "pylibsshext").is_dir()
    if choice == "auto":
        return "libssh" if present else "paramiko"
    if choice == "libssh" and not present:
        raise BenchError(f"--ssh-type libssh: no ansible-pylibssh in {PYDEPS}; run bench/setup_baseline.sh")
    return choice


def ensure_baseline() -> str | None:
    if not (BASELINE / "ansible_collections" / "cisco" / "ios" / "MANIFEST.json").exists():
        print(f"network_cli baseline not in {BASELINE}: running {SETUP_BASELINE.relative_to(ROOT)}", flush=True)
        done = subprocess.run(["bash", str(SETUP_BASELINE)], check=False)
        if done.returncode != 0:
            return f"{SETUP_BASELINE.relative_to(ROOT)} failed ({done.returncode})"
    return None


# -- report ----------------------------------------------------------------------------------


def ratio(value: float, base: float | None) -> str:
    if base is None or base <= 0:
        return "-"
    return f"{value / base:.1f}x"


def report(runs: list[Run], args: argparse.Namespace) -> list[str]:
    hosts, tasks = args.hosts, args.tasks
    host_tasks = hosts * tasks
    pinned = {r.number: r for r in runs if r.variant == "tether"}

    def vs_pinned(run: Run, value: Callable[[Run], float]) -> str:
        base = pinned.get(run.number)
        return ratio(value(run), value(base) if base else None)

    lines = [
        f"{tasks} tasks x {hosts} hosts (forks {args.forks or hosts}), {os.cpu_count()} CPUs, "
        f"ansible-core {ansible_version()}, {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        "wall: ansible-playbook start to exit. startup: start to the first task. in play: first task's start to",
        "the last result. CPU: user+system of the run's processes (ansible-playbook, its workers, network_cli's",
        "ansible-connection helpers) plus tetherd's CPU during the run (also shown alone). x: this variant's",
        "figure / tether pinned's, same run number (higher = tether faster). device CPU: the simulated switches'",
        "CPU during the run (the devices' side, not in CPU s).",
        "",
    ]
    header = (
        f"{'variant':<34}{'run':>4}{'wall s':>8}{'startup s':>10}{'in play s':>10}{'CPU s':>8}"
        f"{'tetherd CPU s':>14}{'conns':>7}{'wall x':>8}{'in play x':>10}{'CPU x':>7}{'device CPU s':>13}"
    )
    lines += [header, "-" * len(header)]
    for run in runs:
        tetherd = f"{run.tetherd_cpu:.2f}" if run.variant in TETHER_VARIANTS else "-"
        lines.append(
            f"{LABELS[run.variant]:<34}{run.number:>4}{run.wall:>8.2f}{run.startup:>10.2f}{run.in_play:>10.2f}"
            f"{run.cpu:>8.2f}{tetherd:>14}{'-' if run.connections is None else run.connections:>7}"
            f"{vs_pinned(run, lambda r: r.wall):>8}{vs_pinned(run, lambda r: r.in_play):>10}"
            f"{vs_pinned(run, lambda r: r.cpu):>7}{run.device_cpu:>13.2f}"
        )
    lines += [
        "",
        f"per task, ms. task: one task on all {hosts} hosts in parallel; host-task: one task on one host.",
        f"in play: in-play time / {tasks} tasks (or / {host_tasks} host-tasks); wall: wall time / the same;",
        f"CPU: CPU time / {host_tasks} host-tasks. 1st / later: the first task, and the median of the others",
        "(a task runs from its start to the next task's start).",
        "",
    ]
    header = (
        f"{'variant':<34}{'run':>4}{'task in play':>13}{'task wall':>10}{'host-task in play':>18}"
        f"{'host-task wall':>15}{'host-task CPU':>14}{'1st task':>9}{'later':>7}"
    )
    lines += [header, "-" * len(header)]
    for run in runs:
        lines.append(
            f"{LABELS[run.variant]:<34}{run.number:>4}{run.in_play / tasks * 1000:>13.1f}"
            f"{run.wall / tasks * 1000:>10.1f}{run.in_play / host_tasks * 1000:>18.1f}"
            f"{run.wall / host_tasks * 1000:>15.1f}{run.cpu / host_tasks * 1000:>14.1f}"
            f"{run.first_task_ms:>9.0f}{run.later_tasks_ms:>7.0f}"
        )
    for run in runs:
        if run.service_ms:
            timings = ", ".join(f"{k.removesuffix('_ms')} {v:.1f}" for k, v in run.service_ms.items())
            lines.append(f"{LABELS[run.variant]} run {run.number}: per host-task in tetherd (median ms): {timings}")
    for run in runs:
        if run.uncounted:
            lines.append(f"{run.variant} run {run.number}: CPU not counted for {', '.join(run.uncounted)}")
    if pinned:
        target, wanted = args.target_ms, args.target_ratio
        lines += [
            "",
            f"target: tether pinned <= {target:.0f} ms per host-task and >= {wanted:.0f}x faster than network_cli",
        ]
        baseline = {r.number: r for r in runs if r.variant == "network_cli"}
        for number, run in sorted(pinned.items()):
            in_play = run.in_play / host_tasks * 1000
            wall = run.wall / host_tasks * 1000
            verdict = (
                f"run {number}: {in_play:.1f} ms in play ({'met' if in_play <= target else 'MISSED'}), "
                f"{wall:.1f} ms wall ({'met' if wall <= target else 'MISSED'})"
            )
            base = baseline.get(number)
            if base:
                faster = base.in_play / run.in_play
                verdict += (
                    f"; network_cli / tether: {faster:.1f}x in play ({'met' if faster >= wanted else 'MISSED'}), "
                    f"{base.wall / run.wall:.1f}x wall, {base.cpu / run.cpu:.1f}x CPU"
                )
            lines.append("  " + verdict)
        first, second = pinned.get(1), pinned.get(2)
        if first and second and len(first.task_ms) > 1:
            factor = second.first_task_ms / first.later_tasks_ms
            lines.append(
                f"  run 2's first task {second.first_task_ms:.0f} ms vs run 1's later tasks (median) "
                f"{first.later_tasks_ms:.0f} ms: {factor:.2f}x ({'as warm' if factor <= 1.5 else 'NOT as warm'})"
            )
    return lines


def ansible_version() -> str:
    try:
        from ansible.release import __version__

        return str(__version__)
    except ImportError:
        return "?"


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=5, help="simulated switches (default 5)")
    parser.add_argument("--tasks", type=int, default=20, help="tasks in the playbook, one command each (default 20)")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS + EXTRA_VARIANTS)}"
    )
    parser.add_argument("--runs", type=int, default=2, help="playbook runs per variant, back to back (default 2)")
    parser.add_argument("--forks", type=int, default=0, help="ansible forks (default: one per host)")
    parser.add_argument(
        "--ssh-type",
        choices=("auto", "paramiko", "libssh"),
        default="auto",
        help="network_cli's ssh_type (auto: libssh when setup_baseline.sh put ansible-pylibssh in build/baseline-pydeps)",
    )
    parser.add_argument("--run-timeout", type=float, default=900.0, help="bound on one playbook run, s")
    parser.add_argument("--target-ms", type=float, default=50.0, help="tether pinned target per host-task, ms")
    parser.add_argument("--target-ratio", type=float, default=15.0, help="tether pinned target vs network_cli")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (inventory, playbooks, logs)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="pass -v.. to ansible-playbook")
    args = parser.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS + EXTRA_VARIANTS]
    if unknown or not args.variants:
        parser.error(f"unknown variants {unknown}; choose from {', '.join(VARIANTS + EXTRA_VARIANTS)}")
    if min(args.hosts, args.tasks, args.runs) < 1:
        parser.error("--hosts, --tasks and --runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not become_subreaper():
        print("warning: cannot become a child subreaper: the CPU of daemonized helpers is not counted", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="tether-bench-playbooks-"))
    (workdir / "collections" / "ansible_collections" / "tether").mkdir(parents=True)
    (workdir / "collections" / "ansible_collections" / "tether" / "fleet").symlink_to(ROOT)
    farm: SwitchFarm | None = None
    bench: Bench | None = None
    runs: list[Run] = []
    skipped: list[str] = []
    try:
        playbook_cmd = find_playbook_command()
        variants = list(args.variants)
        if "network_cli" in variants and (why := ensure_baseline()):
            raise BenchError(f"network_cli: {why}")
        ssh_type = resolve_ssh_type(args.ssh_type) if "network_cli" in variants else "-"
        farm = start_switches(args.hosts)
        bench = Bench(args, workdir, farm, playbook_cmd, {}, ssh_type)
        LABELS["network_cli"] = f"network_cli/{bench.ssh_type} + ios_command"
        tether_variants = [v for v in variants if v in TETHER_VARIANTS]
        if tether_variants:
            probe_env = bench.environment("probe", bench.write_config("probe", bench.write_inventory("tether")))
            why, oneshot = tether_readiness(workdir, probe_env)
            if why is None and "oneshot" in variants and not oneshot:
                skipped.append("oneshot: SKIPPED, tether.fleet.cli_command has neither a mode nor a pinned option")
                variants.remove("oneshot")
            if why:
                skipped += [f"{v}: SKIPPED, {why}" for v in tether_variants]
                variants = [v for v in variants if v not in TETHER_VARIANTS]
            bench.tether_oneshot = oneshot
        for message in skipped:
            print(message, flush=True)
        print(
            f"{args.tasks} tasks x {args.hosts} hosts, variants {', '.join(variants) or 'none'}, "
            f"{args.runs} runs each; work dir {workdir}",
            flush=True,
        )
        # Interleaved (run 1 of every variant, then run 2 of every variant, ...): the machine's background
        # load drifts, and the ratios compare runs of the same number, so those are taken close together.
        # Each tether variant has its own tetherd, which keeps its sessions between its runs.
        prepared = {}
        for variant in variants:
            env = bench.environment(variant, bench.write_config(variant, bench.write_inventory(variant)))
            prepared[variant] = (bench.write_playbook(variant), env)
        for number in range(1, args.runs + 1):
            for variant in variants:
                run = bench.run(variant, number, *prepared[variant])
                runs.append(run)
                conns = "" if run.connections is None else f", connections_opened {run.connections}"
                if run.helpers:
                    conns += f", {run.helpers} daemonized helper processes reaped (CPU counted)"
                print(
                    f"  {LABELS[variant]} run {number}: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU{conns}", flush=True
                )
                check_connections(variant, [r for r in runs if r.variant == variant], args)
        for variant in variants:
            bench.stop_tetherd(variant)
        print()
        print("\n".join(report(runs, args)))
        for message in skipped:
            print(message)
        return 0
    except BenchError as exc:
        print(f"\nBENCHMARK FAILED: {exc}", file=sys.stderr)
        args.keep = True
        return 1
    finally:
        if bench is not None:
            for variant in list(bench.tetherd_pids):
                bench.stop_tetherd(variant)
        if farm is not None:
            farm.stop()
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def check_connections(variant: str, runs: list[Run], args: argparse.Namespace) -> None:
    """Pinned: one connection per host in run 1, none after. Connect-per-task: one per host-task, every run."""
    if variant not in TETHER_VARIANTS or not runs:
        return
    counts = [r.connections or 0 for r in runs]
    deltas = [b - a for a, b in zip([0, *counts], counts, strict=False)]
    expected = [args.hosts] + [0] * (len(runs) - 1) if variant == "tether" else [args.hosts * args.tasks] * len(runs)
    if deltas != expected:
        raise BenchError(
            f"{variant}: tetherd opened {deltas} connections per run, expected {expected}: "
            "the variant is not measuring what it claims"
        )


if __name__ == "__main__":
    sys.exit(main())
