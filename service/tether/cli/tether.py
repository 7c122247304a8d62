"""``tether``: talk to tetherd from a shell.

Passwords are never taken on the command line (other users can read argv):
use --password-env, --password-file, or answer the prompt.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict

from ..client import ClientConfig, TetherClient, TetherError, connection_message, operation_message
from ..v1 import tether_pb2 as pb


def _secret(args: argparse.Namespace, kind: str, required: bool) -> str:
    env_name = getattr(args, f"{kind}_env")
    file_name = getattr(args, f"{kind}_file")
    if env_name:
        if env_name not in os.environ:
            raise SystemExit(f"tether: environment variable {env_name} is not set")
        return os.environ[env_name]
    if file_name:
        return Path(file_name).read_text().rstrip("\n")
    if required and sys.stdin.isatty():
        return getpass.getpass(f"{kind} for {args.username}@{getattr(args, 'host', 'devices')}: ")
    return ""


def _connection(args: argparse.Namespace, host: str = "") -> dict[str, Any]:
    needs_password = not args.key_file
    return {
        "host": host,
        "port": args.port,
        "platform": args.platform,
        "username": args.username,
        "password": _secret(args, "password", needs_password),
        "secret": _secret(args, "secret", False),
        "private_key_file": args.key_file,
        "options": json.loads(args.options) if args.options else None,
    }


def _print_json(message: Any) -> None:
    print(json.dumps(MessageToDict(message, preserving_proto_field_name=True), indent=2))


def _table(cells: Iterable[Sequence[object]], header: Sequence[str]) -> None:
    rows = [[str(c) for c in row] for row in cells]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    for row in [list(header), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "-"


def cmd_exec(client: TetherClient, args: argparse.Namespace) -> int:
    response = client.execute(
        _connection(args, args.host),
        commands=args.commands if not args.config else [],
        config=args.commands if args.config else [],
        driver=args.driver,
        mode="oneshot" if args.oneshot else "pinned",
        read_timeout=args.read_timeout,
        parse=args.parse or "",
        template=Path(args.template).read_text() if args.template else "",
    )
    if args.json:
        _print_json(response)
    else:
        for result in response.results:
            print(f"### {result.command}")
            print(result.parsed_json or result.output)
            if result.error:
                print(f"!!! {result.error}")
        meta = response.meta
        reuse = "reused" if meta.session_reused else f"new, connect {meta.connect_ms:.0f} ms"
        print(
            f"--- job {response.job_id}: session {meta.session_id} ({reuse}), run {meta.run_ms:.1f} ms", file=sys.stderr
        )
    return 0 if response.ok else 1


def _targets(args: argparse.Namespace) -> list[pb.Target]:
    lines = Path(args.hosts_file).read_text().splitlines() if args.hosts_file else list(args.hosts)
    targets = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        host, _, port = line.rpartition(":") if line.count(":") == 1 else (line, "", "")
        targets.append(pb.Target(name=line, connection=pb.Connection(host=host, port=int(port) if port else 0)))
    return targets


def _progress(done: int, total: int, failed: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} done, {failed} failed")
    sys.stderr.flush()


def cmd_bulk(client: TetherClient, args: argparse.Namespace) -> int:
    request = pb.BulkRequest(
        driver=args.driver,
        defaults=connection_message(_connection(args)),
        targets=_targets(args),
        operation=operation_message(args.commands if not args.config else [], args.commands if args.config else []),
        mode=pb.MODE_ONESHOT if args.oneshot else pb.MODE_PINNED,
        concurrency=args.concurrency,
    )
    show_bar = sys.stderr.isatty() and not args.no_progress
    failed = 0
    for event in client.bulk(request):
        kind = event.WhichOneof("event")
        if kind == "accepted":  # before any result: the job can be looked up even if the stream breaks
            print(f"--- job {event.accepted.job_id}: {event.accepted.total} targets", file=sys.stderr, flush=True)
        elif kind == "progress":
            if show_bar:
                _progress(event.progress.done, event.progress.total, event.progress.failed)
        elif kind == "finished" and args.json:
            _print_json(event.finished)
        elif kind == "finished" and not args.quiet:
            result = event.finished
            if show_bar:
                sys.stderr.write("\r\033[K")
            status = "ok" if result.ok else f"FAILED: {result.error}"
            print(f"== {result.target}: {status}")
            for command in result.results:
                print(command.output)
        elif kind == "summary":
            summary = event.summary
            failed = len(summary.failed)
            if show_bar:
                sys.stderr.write("\n")
            print(
                f"--- job {summary.job_id}: {summary.succeeded} succeeded, {failed} failed "
                f"in {summary.elapsed_ms / 1000:.2f} s",
                file=sys.stderr,
            )
            for failure in summary.failed:
                print(f"    {failure.target}: {failure.reason}", file=sys.stderr)
    return 1 if failed else 0


def cmd_sessions(client: TetherClient, args: argparse.Namespace) -> int:
    if args.close or args.close_host or args.close_all:
        closed = client.close_sessions(args.close or "", args.close_host or "", args.close_all)
        print(f"closed {closed} session(s)")
        return 0
    sessions = client.list_sessions(host=args.host or "")
    if args.json:
        print(json.dumps([MessageToDict(s, preserving_proto_field_name=True) for s in sessions], indent=2))
        return 0
    _table(
        (
            (
                s.id,
                s.driver,
                f"{s.username}@{s.host}:{s.port}",
                pb.SessionState.Name(s.state).removeprefix("SESSION_STATE_").lower(),
                _when(s.created),
                _when(s.last_used),
                s.use_count,
                s.keepalive_failures,
                s.fingerprint,
            )
            for s in sessions
        ),
        ("ID", "DRIVER", "TARGET", "STATE", "CREATED", "LAST USED", "USES", "KA FAIL", "FINGERPRINT"),
    )
    return 0


def cmd_jobs(client: TetherClient, args: argparse.Namespace) -> int:
    if args.cancel:
        _print_json(client.cancel_job(args.cancel))
        return 0
    if args.job_id:
        _print_json(client.get_job(args.job_id))
        return 0
    states = [pb.JobState.Value(f"JOB_STATE_{s.upper()}") for s in args.state or []]
    response = client.list_jobs(states=states, target=args.target or "", page_size=args.limit)
    if args.json:
        _print_json(response)
        return 0
    _table(
        (
            (
                j.id,
                pb.JobKind.Name(j.kind).removeprefix("JOB_KIND_").lower(),
                pb.JobState.Name(j.state).removeprefix("JOB_STATE_").lower(),
                _when(j.created),
                ",".join(j.targets)[:40],
                (j.commands[0] if j.commands else "")[:40],
            )
            for j in response.jobs
        ),
        ("ID", "KIND", "STATE", "CREATED", "TARGETS", "FIRST COMMAND"),
    )
    return 0


def cmd_info(client: TetherClient, args: argparse.Namespace) -> int:
    _print_json(client.info())
    return 0


def _device_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--driver", default="netmiko")
    command.add_argument("-p", "--platform", default="", help="driver platform, e.g. cisco_ios")
    command.add_argument("-u", "--username", default=os.environ.get("USER", ""))
    command.add_argument("--port", type=int, default=0)
    command.add_argument("--password-env", help="read the password from this environment variable")
    command.add_argument("--password-file")
    command.add_argument("--secret-env", help="read the enable secret from this environment variable")
    command.add_argument("--secret-file")
    command.add_argument("-k", "--key-file", default="", help="SSH private key file")
    command.add_argument("--options", help="driver options as JSON")
    command.add_argument("--config", action="store_true", help="the commands are configuration lines")
    command.add_argument("--oneshot", action="store_true", help="connect, run, disconnect")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="tether", description="Talk to tetherd")
    root.add_argument("--endpoint", help="tetherd address (default: TETHER_ENDPOINT or the local socket)")
    root.add_argument("--json", action="store_true", help="print JSON")
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("exec", help="run commands on one device")
    run.add_argument("host")
    run.add_argument("commands", nargs="+")
    run.add_argument("--read-timeout", type=float, default=0.0)
    run.add_argument("--parse", choices=("textfsm", "ttp"))
    run.add_argument("--template", help="template file for --parse")
    _device_options(run)
    run.set_defaults(handler=cmd_exec)
    bulk = commands.add_parser("bulk", help="run commands on many devices")
    bulk.add_argument("commands", nargs="+")
    bulk.add_argument("--hosts", nargs="*", default=[], help="host or host:port")
    bulk.add_argument("--hosts-file", help="one host or host:port per line")
    bulk.add_argument("--concurrency", type=int, default=0)
    bulk.add_argument("--no-progress", action="store_true")
    bulk.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    _device_options(bulk)
    bulk.set_defaults(handler=cmd_bulk)
    sessions = commands.add_parser("sessions", help="list or close sessions")
    sessions.add_argument("--host")
    sessions.add_argument("--close", metavar="SESSION_ID")
    sessions.add_argument("--close-host", metavar="HOST")
    sessions.add_argument("--close-all", action="store_true")
    sessions.set_defaults(handler=cmd_sessions)
    jobs = commands.add_parser("jobs", help="list, show or cancel jobs")
    jobs.add_argument("job_id", nargs="?")
    jobs.add_argument("--state", action="append", choices=("queued", "running", "succeeded", "failed", "cancelled"))
    jobs.add_argument("--target")
    jobs.add_argument("--limit", type=int, default=20)
    jobs.add_argument("--cancel", metavar="JOB_ID")
    jobs.set_defaults(handler=cmd_jobs)
    info = commands.add_parser("info", help="service version and counters")
    info.set_defaults(handler=cmd_info)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with TetherClient(ClientConfig.from_env(endpoint=args.endpoint)) as client:
            return int(args.handler(client, args))
    except TetherError as exc:
        print(f"tether: {exc}", file=sys.stderr)
        return 2
