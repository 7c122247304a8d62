"""``tetherd``: run the Tether execution service."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import resource
import sys
from collections.abc import Callable

from .. import __version__
from ..api.server import AlreadyRunning, serve
from ..config import ConfigError, Settings, default_endpoint, load
from ..logs import configure

log = logging.getLogger("tether.server")


def parser() -> argparse.ArgumentParser:
    defaults = Settings()
    root = argparse.ArgumentParser(
        prog="tetherd",
        description="Tether execution service",
        epilog="example: tetherd serve --listen 0.0.0.0:7443 --tls-cert c.pem --tls-key k.pem --token-file t",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--version", action="version", version=f"tetherd {__version__}", help="print the version")
    commands = root.add_subparsers(dest="command", metavar="COMMAND", help="what to do (default: serve)")
    serve_cmd = commands.add_parser(
        "serve",
        help="serve the API (default)",
        description="Serve the tether.v1 API. Every setting is also TETHER_<NAME> or a key in the --config file.",
    )
    serve_cmd.add_argument("--config", metavar="FILE", help="TOML settings file, [tetherd] table (also TETHER_CONFIG)")
    serve_cmd.add_argument(
        "--listen",
        help="unix:/path, or host:port for TCP (TLS and a token required); "
        f"default: the private per-user socket, now {default_endpoint()}",
    )
    serve_cmd.add_argument(
        "--state-dir",
        metavar="DIR",
        help="where the job store lives (default: $XDG_STATE_HOME/tether, else ~/.local/state/tether)",
    )
    serve_cmd.add_argument(
        "--token-file",
        metavar="FILE",
        help="file holding the bearer token clients must send (required on TCP; keep it private)",
    )
    serve_cmd.add_argument("--tls-cert", metavar="FILE", help="server certificate (PEM) for a TCP listener")
    serve_cmd.add_argument("--tls-key", metavar="FILE", help="private key (PEM) of --tls-cert")
    serve_cmd.add_argument("--tls-client-ca", metavar="FILE", help="require client certificates signed by this CA")
    serve_cmd.add_argument(
        "--max-sessions",
        type=int,
        metavar="N",
        help=f"warm sessions kept at most; the least recently used idle one closes first "
        f"(default: {defaults.max_sessions})",
    )
    serve_cmd.add_argument(
        "--idle-timeout",
        type=float,
        metavar="SECONDS",
        help=f"seconds before an unused session closes (default: {defaults.idle_timeout:g})",
    )
    serve_cmd.add_argument(
        "--keepalive-seconds",
        type=float,
        metavar="SECONDS",
        help=f"seconds between keepalive probes of an idle session (default: {defaults.keepalive_seconds:g})",
    )
    serve_cmd.add_argument(
        "--exit-when-idle",
        type=float,
        metavar="SECONDS",
        help="exit after this many seconds with no session and no call (default: 0, never; "
        "the embedded default uses 900)",
    )
    serve_cmd.add_argument(
        "--log-level",
        type=str.lower,
        choices=("debug", "info", "warning", "error"),
        help=f"log verbosity (default: {defaults.log_level})",
    )
    serve_cmd.add_argument(
        "--log-format", choices=("json", "text"), help=f"log records to stderr as (default: {defaults.log_format})"
    )
    return root


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed: it takes about a sixth off each call's cost."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _raise_open_file_limit() -> None:
    """Up to the hard limit: each pinned SSH session holds a socket and paramiko's wake-up pipe."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1 << 16 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command is None:
        args = parser().parse_args(["serve", *(argv or sys.argv[1:])])
    overrides = {k: v for k, v in vars(args).items() if k not in ("command", "config")}
    try:
        settings = load(args.config, overrides=overrides)
    except ConfigError as exc:
        print(f"tetherd: {exc}", file=sys.stderr)
        return 2
    configure(settings.log_level, settings.log_format)
    _raise_open_file_limit()
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(serve(settings))
    except AlreadyRunning as exc:
        log.info(str(exc))
        return 0
    except ConfigError as exc:
        log.error(str(exc))
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
