"""Structured logging: one JSON object per event on stderr (or plain text).

Nothing logged here ever carries a secret: the service logs targets, session
ids and reasons, never connection specs (whose repr hides secrets anyway); and
every record passes through :class:`SecretFilter` on its way out, which removes
the connection secrets of recent requests and masks secret-bearing
configuration lines (whatever ``keep_config_secrets`` says). Third-party
libraries that log channel traffic (netmiko writes what it reads and sends, in
fragments an enable secret could be reassembled from) are held at WARNING
whatever the service's own level.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from .security.redaction import scrub_log_text

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
# Libraries that log session traffic or transport events: never below WARNING.
THIRD_PARTY_LOGGERS = ("netmiko", "paramiko", "twisted", "grpc", "ncclient", "scrapli", "asyncssh", "urllib3")
THIRD_PARTY_LEVEL = logging.WARNING


class SecretFilter(logging.Filter):
    """Scrubs a record's message, its traceback and its extra fields before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a library's bad format arguments must not break its caller
            message = f"{record.msg} {record.args}"
        scrubbed = scrub_log_text(message)
        if scrubbed != message or record.args:
            record.msg, record.args = scrubbed, None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = scrub_log_text(record.exc_text)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                record.__dict__[key] = scrub_log_text(value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, default=str)


def join_multiline_logs(cls: Any) -> None:
    """Make ``cls._log(level, [line, line, ...])`` one record instead of one per line.

    paramiko logs a transport thread's traceback as a list of lines (``util.tb_strings()``), which
    its ``_log`` methods emit one record each: one JSON record per line of one event.
    """
    original = cls._log
    if getattr(original, "_tether_joined", False):
        return

    def _log(self: Any, level: int, msg: Any, *args: Any) -> None:
        if isinstance(msg, list):
            msg = "\n".join(str(line) for line in msg)
        original(self, level, msg, *args)

    _log._tether_joined = True  # type: ignore[attr-defined]
    cls._log = _log


def configure(level: str = "info", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(THIRD_PARTY_LEVEL)
