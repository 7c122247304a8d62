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

from ..client import TetherClient, TetherError, connection_message, operation_message
from ..v1 import messages as pb
from ._reach import Reach, ServiceUnreachable


class UsageError(Exception):
    """The command line cannot work as given; the message says why."""


def _options(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    example = """e.g. '{"fast_cli": false}'"""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--options is not valid JSON ({exc.msg} at character {exc.pos}); {example}") from None
    if not isinstance(value, dict):
        raise UsageError(f"--options must be a JSON object of option names and values, {example}")
    return value


def _secret(args: argparse.Namespace, kind: str, required: bool) -> str:
    env_name = getattr(args, f"{kind}_env")
    file_name = getattr(args, f"{kind}_file")
    if env_name:
        if env_name not in os.environ:
            raise UsageError(f"environment variable {env_name} is not set")
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
        "options": _options(args.options),
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


# Two sessions to one target differ by platform, credentials or options: the fingerprint
# (a hash of the whole session key) tells the last two apart.
_SESSION_COLUMNS = (
    "ID", "DRIVER", "PLATFORM", "TARGET", "STATE", "CREATED", "LAST USED", "USES", "QUEUED", "KA FAIL", "FINGERPRINT",
)  # fmt: skip


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
                s.platform or "-",
                f"{s.username}@{s.host}:{s.port}",
                pb.SessionState.Name(s.state).removeprefix("SESSION_STATE_").lower(),
                _when(s.created),
                _when(s.last_used),
                s.use_count,
                s.queued,
                s.keepalive_failures,
                s.fingerprint,
            )
            for s in sessions
        ),
        _SESSION_COLUMNS,
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


_EVENT_KINDS = {
    name.removeprefix("EVENT_KIND_").lower(): value
    for name, value in pb.EventKind.items()
    if value not in (pb.EVENT_KIND_UNSPECIFIED, pb.EVENT_KIND_GAP)  # a GAP is never filtered out
}
# Reconnect delays after a dropped event stream: 0.2 s doubling to at most this.
_MAX_RECONNECT_DELAY = 5.0
_RETRYABLE = ("UNAVAILABLE", "CANCELLED", "UNKNOWN", "INTERNAL", "DEADLINE_EXCEEDED")


def event_line(event: pb.Event) -> str:
    """One line per event: seq, local time, kind, what it is about, details."""
    kind = pb.EventKind.Name(event.kind).removeprefix("EVENT_KIND_").lower()
    stamp = time.strftime("%H:%M:%S", time.localtime(event.time)) + f".{int(event.time % 1 * 1000):03d}"
    payload = event.WhichOneof("payload")
    if event.kind == pb.EVENT_KIND_GAP:
        subject, details = "-", f"events before seq {event.seq} are no longer retained (some were missed)"
    elif payload == "job":
        job = event.job
        subject = f"job {job.job_id}" + (f" {job.target}" if job.target else "")
        state = pb.JobState.Name(job.state).removeprefix("JOB_STATE_").lower()
        details = f"{state} {job.done}/{job.total}" + (f" failed {job.failed}" if job.failed else "")
        if job.error:
            details += f" [{job.error_code}] {job.error}" if job.error_code else f" {job.error}"
    elif payload == "session":
        session = event.session
        subject = f"{session.host}:{session.port}"
        details = f"session {session.session_id} ({session.driver})" + (f": {session.reason}" if session.reason else "")
    elif payload == "device":
        device = event.device
        subject = device.target
        state = pb.DeviceState.Name(device.state).removeprefix("DEVICE_STATE_").lower()
        details = f"{state} ({device.driver})" + (f": {device.reason}" if device.reason else "")
    else:
        subject, details = "-", ""
    return f"{event.seq} {stamp} {kind:<20} {subject} {details}".rstrip()


def cmd_events(client: TetherClient, args: argparse.Namespace) -> int:
    """Follow the event stream; after a dropped connection, resume after the last event printed."""
    if args.after < 0 or args.count < 0 or args.retries < 0:
        raise UsageError("--after, --count and --retries must not be negative")
    last = args.after
    retries = 0
    printed = 0

    def started(seq: int) -> None:
        nonlocal last, retries
        retries = 0
        last = last or seq  # with no event printed yet, resume from where the first stream started

    while True:
        request = pb.WatchEventsRequest(
            after_seq=last, kinds=[_EVENT_KINDS[k] for k in args.kind or []], job_id=args.job, target=args.target
        )
        try:
            for event in client.watch_events(request, started):
                if args.json:
                    print(json.dumps(MessageToDict(event, preserving_proto_field_name=True)), flush=True)
                else:
                    print(event_line(event), flush=True)
                # A GAP is not an event: resuming after it starts at the oldest retained one.
                last = event.seq - 1 if event.kind == pb.EVENT_KIND_GAP else event.seq
                printed += 1
                if args.count and printed >= args.count:
                    return 0
            reason = "the stream ended (tetherd stopping)"
        except TetherError as exc:
            if exc.code not in _RETRYABLE:
                raise
            reason = exc.message
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:  # the reader went away (tether events | head): done, quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        retries += 1
        if retries > args.retries:
            print(f"tether: gave up after {args.retries} reconnect attempts: {reason}", file=sys.stderr)
            return 2
        delay = min(_MAX_RECONNECT_DELAY, 0.2 * 2 ** (retries - 1))
        print(f"tether: event stream lost ({reason}); resuming after seq {last} in {delay:.1f} s", file=sys.stderr)
        try:
            time.sleep(delay)
        except KeyboardInterrupt:
            return 130


def cmd_info(client: TetherClient, args: argparse.Namespace) -> int:
    _print_json(client.info())
    return 0


def _device_options(command: argparse.ArgumentParser) -> None:
    device = command.add_argument_group("device connection")
    device.add_argument(
        "--driver", default="netmiko", help="driver that talks to the device (default: %(default)s; null: no device)"
    )
    device.add_argument(
        "-p", "--platform", default="", help="driver platform, e.g. cisco_ios, arista_eos, linux (netmiko device_type)"
    )
    device.add_argument(
        "-u", "--username", default=os.environ.get("USER", ""), help="login user on the device (default: $USER)"
    )
    device.add_argument(
        "--port", type=int, default=0, help="device port (default: 0, the driver's default: 22 for SSH)"
    )
    device.add_argument("--password-env", metavar="VAR", help="read the password from this environment variable")
    device.add_argument(
        "--password-file", metavar="FILE", help="read the password from this file (first line; no password on argv)"
    )
    device.add_argument("--secret-env", metavar="VAR", help="read the enable secret from this environment variable")
    device.add_argument("--secret-file", metavar="FILE", help="read the enable secret from this file")
    device.add_argument(
        "-k", "--key-file", default="", metavar="FILE", help="SSH private key file, read by tetherd (not by this CLI)"
    )
    device.add_argument(
        "--options",
        metavar="JSON",
        help='driver options as a JSON object, e.g. \'{"fast_cli": false, "banner_timeout": 30}\'',
    )
    run = command.add_argument_group("how to run")
    run.add_argument(
        "--config", action="store_true", help="the commands are configuration lines, applied in configuration mode"
    )
    run.add_argument(
        "--oneshot", action="store_true", help="connect, run, disconnect (default: keep a warm pinned session)"
    )


_FORMAT = argparse.RawDescriptionHelpFormatter  # examples in epilogs keep their lines


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _FORMAT)
        super().__init__(*args, **kwargs)


_EXIT_CODES = "exit status: 0 ok, 1 a command or target failed, 2 the call failed or no tetherd answered"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="tether", description="Talk to tetherd", epilog=_EXIT_CODES, formatter_class=_FORMAT
    )
    root.add_argument(
        "--endpoint",
        help="tetherd address: unix:/path or host:port (default: TETHER_ENDPOINT, else the embedded default socket)",
    )
    root.add_argument("--json", action="store_true", help="print JSON instead of text")
    root.add_argument(
        "--no-start",
        action="store_true",
        help="never start the embedded tetherd (exec, bulk and jobs start it when no endpoint is set; "
        "also TETHER_AUTO_START=false)",
    )
    commands = root.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="what to do", parser_class=_Parser
    )
    run = commands.add_parser(
        "exec",
        help="run commands on one device",
        description="Run commands (or configuration lines) on one device through a warm session.",
        epilog='example: tether exec 10.0.0.1 -p cisco_ios -u admin --password-env PW "show version"',
    )
    run.add_argument("host", help="device address or name, e.g. 10.0.0.1 or sw01.example.net")
    run.add_argument("commands", nargs="+", metavar="COMMAND", help='commands to run in order, e.g. "show version"')
    run.add_argument(
        "--read-timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="seconds to wait for each command's output (default: 0, the service's default, 30 s)",
    )
    run.add_argument("--parse", choices=("textfsm", "ttp"), help="parse each command's output into JSON")
    run.add_argument(
        "--template",
        metavar="FILE",
        help="template file for --parse (textfsm without it: ntc-templates by platform and command)",
    )
    _device_options(run)
    run.set_defaults(handler=cmd_exec, starts_service=True)
    bulk = commands.add_parser(
        "bulk",
        help="run commands on many devices",
        description="Run the same commands on many devices in parallel; one result per device as it finishes.",
        epilog='example: tether bulk --hosts-file switches.txt -p cisco_ios -u admin --password-env PW "show clock"',
    )
    bulk.add_argument("commands", nargs="+", metavar="COMMAND", help="commands to run on every device, in order")
    bulk.add_argument(
        "--hosts", nargs="*", default=[], metavar="HOST", help="devices as host or host:port, e.g. sw01 10.0.0.2:2222"
    )
    bulk.add_argument("--hosts-file", metavar="FILE", help="one host or host:port per line; # starts a comment")
    bulk.add_argument(
        "--concurrency", type=int, default=0, help="devices worked on at once (default: 0, the service's default, 32)"
    )
    bulk.add_argument("--no-progress", action="store_true", help="no progress bar on a terminal")
    bulk.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    _device_options(bulk)
    bulk.set_defaults(handler=cmd_bulk, starts_service=True)
    sessions = commands.add_parser(
        "sessions",
        help="list or close sessions",
        description="List the warm sessions (one per device, credentials and platform), or close some.",
    )
    sessions.add_argument("--host", help="list only the sessions to this host")
    sessions.add_argument("--close", metavar="SESSION_ID", help="close this session (ID from the listing)")
    sessions.add_argument("--close-host", metavar="HOST", help="close every session to this host")
    sessions.add_argument("--close-all", action="store_true", help="close every session")
    sessions.set_defaults(handler=cmd_sessions, starts_service=False)
    jobs = commands.add_parser(
        "jobs",
        help="list, show or cancel jobs",
        description="Every call is a job in tetherd's job store: list recent ones, show one in full, or cancel one.",
    )
    jobs.add_argument("job_id", nargs="?", help="show this job in full (JSON)")
    jobs.add_argument(
        "--state",
        action="append",
        choices=("queued", "running", "succeeded", "failed", "cancelled"),
        help="list only jobs in this state (repeat for several)",
    )
    jobs.add_argument("--target", metavar="HOST", help="list only jobs that ran on this target")
    jobs.add_argument("--limit", type=int, default=20, help="list at most this many jobs (default: %(default)s)")
    jobs.add_argument("--cancel", metavar="JOB_ID", help="cancel this queued or running job")
    # The job store outlives the service: looking up a job after a crash starts the embedded default.
    jobs.set_defaults(handler=cmd_jobs, starts_service=True)
    info = commands.add_parser(
        "info", help="service version and counters", description="tetherd's version, pid and counters."
    )
    info.set_defaults(handler=cmd_info, starts_service=False)
    events = commands.add_parser(
        "events",
        help="follow the event stream",
        description="Follow tetherd's events (jobs, sessions, device status), one line each: "
        "seq, time, kind, target or job, details. A dropped connection is resumed after the last "
        "event printed, so nothing is lost or repeated within the service's retention window. "
        "tether --json events prints one JSON object per line.",
        epilog="example: tether events --kind device_status --target 10.0.0.1:22",
    )
    events.add_argument(
        "--kind", action="append", choices=sorted(_EVENT_KINDS), help="only events of this kind (repeat for several)"
    )
    events.add_argument("--job", default="", metavar="JOB_ID", help="only events of this job")
    events.add_argument(
        "--target", default="", metavar="TARGET", help="only events about this target (host, host:port or bulk name)"
    )
    events.add_argument(
        "--after",
        type=int,
        default=0,
        metavar="SEQ",
        help="first every retained event after this seq, then live ones (default: live ones only)",
    )
    events.add_argument("--count", type=int, default=0, metavar="N", help="exit after N events (default: follow)")
    events.add_argument(
        "--retries", type=int, default=10, help="reconnect attempts in a row before giving up (default: %(default)s)"
    )
    events.set_defaults(handler=cmd_events, starts_service=False)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    reach = Reach.from_args(args.endpoint, args.no_start)
    start = bool(args.starts_service)
    for attempt in (1, 2):
        try:
            with reach.client(start, announce=lambda line: print(f"tether: {line}", file=sys.stderr)) as client:
                return int(args.handler(client, args))
        except (ServiceUnreachable, UsageError) as exc:
            print(f"tether: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:  # a file named on the command line (password, template, hosts, TLS)
            print(f"tether: cannot read {exc.filename or 'a file'}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        except TetherError as exc:
            # The embedded service may exit (idle) between the look at its socket and the call;
            # a call that never reached it is safe to make once more, on a fresh one.
            if attempt == 1 and reach.may_restart(exc, start):
                continue
            details = exc.describe()  # the service's reason, field and metadata, when it sent them
            print(f"tether: {reach.explain(exc, start)}" + (f" [{details}]" if details else ""), file=sys.stderr)
            return 2
    return 2
