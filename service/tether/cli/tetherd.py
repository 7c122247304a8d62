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
from ..config import ConfigError, load
from ..logs import configure
from ..server import AlreadyRunning, serve

log = logging.getLogger("tether.server")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="tetherd", description="Tether execution service")
    root.add_argument("--version", action="version", version=f"tetherd {__version__}")
    commands = root.add_subparsers(dest="command")
    serve_cmd = commands.add_parser("serve", help="serve the API (default)")
    serve_cmd.add_argument("--config", help="TOML settings file (also TETHER_CONFIG)")
    serve_cmd.add_argument("--listen", help="unix:/path (default: private per-user socket) or host:port (TLS + token)")
    serve_cmd.add_argument("--state-dir", help="where the job store lives")
    serve_cmd.add_argument("--token-file", help="file holding the bearer token clients must send")
    serve_cmd.add_argument("--tls-cert")
    serve_cmd.add_argument("--tls-key")
    serve_cmd.add_argument("--tls-client-ca", help="require client certificates signed by this CA")
    serve_cmd.add_argument("--max-sessions", type=int)
    serve_cmd.add_argument("--idle-timeout", type=float, help="seconds before an unused session closes")
    serve_cmd.add_argument("--keepalive-seconds", type=float)
    serve_cmd.add_argument("--exit-when-idle", type=float, help="exit after this many seconds with no sessions")
    serve_cmd.add_argument("--log-level")
    serve_cmd.add_argument("--log-format", choices=("json", "text"))
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
