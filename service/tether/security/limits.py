"""Every bound tetherd puts on a request, in one place, and the checks that apply them.

Each constant is documented in docs/reliability.md ("Limits"). A request past one
is refused with INVALID_ARGUMENT naming the field; the message quotes at most
``QUOTE_LIMIT`` characters of the offending value, so an error about a megabyte of
input stays a short message (gRPC carries it in a size-limited header).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..drivers.contract import InvalidRequest

QUOTE_LIMIT = 60  # characters of an offending value an error message repeats

# Seconds: every timeout field (connect, read, whole request, exec) and every number of
# seconds a driver option takes. 0 means "the default" where the API says so.
MAX_SECONDS = 86_400.0
MAX_KEEPALIVE_SECONDS = 86_400

# Names and identities.
MAX_DRIVER_NAME = 64
MAX_HOST = 255  # a DNS name is at most 253 characters; an IPv6 literal far less
MAX_PLATFORM = 64
MAX_USERNAME = 256
MAX_SECRET = 4_096  # password, enable secret
MAX_PRIVATE_KEY = 65_536  # PEM text
MAX_PATH = 4_096  # private_key_file, remote_path
MAX_TARGET_NAME = 255
MAX_JOB_ID = 64
MAX_SESSION_ID = 64
MAX_PAGE_TOKEN = 256
MAX_PAGE_SIZE = 500  # ListJobs: larger page sizes are clamped to it (jobs.MAX_PAGE_SIZE)

# Driver options (a google.protobuf.Struct: every number is a double).
MAX_OPTIONS = 32
MAX_OPTION_NAME = 128
MAX_OPTION_DEPTH = 4  # nesting of lists/objects inside one option value
MAX_OPTION_STRING = 4_096
MAX_OPTIONS_BYTES = 16_384  # the serialized Struct

# Operations.
MAX_COMMANDS = 1_000  # commands + config lines of one operation
MAX_COMMAND_LENGTH = 16_384
MAX_API_CALL_INPUT = 65_536  # the "input" of one eAPI request (a banner, a certificate: may span lines)
OPERATION_ENCODINGS = ("", "text", "json")  # "": the driver's default (eAPI: json, CLI drivers: text)
MAX_TEMPLATE_LENGTH = 262_144  # TextFSM / TTP template text
MAX_TARGETS = 10_000
MAX_BULK_CONCURRENCY = 4_096
MAX_EXEC_COMMAND = 65_536
MAX_JOB_FILTER_STATES = 16

# Getters and configuration candidates (napalm).
MAX_GETTERS = 64  # getter calls in one operation
MAX_GETTER_NAME = 64
MAX_GETTER_ARGUMENTS_BYTES = 16_384  # one getter's serialized arguments Struct
MAX_CANDIDATE_CONFIG = 1_048_576  # candidate text, and the rendered template
MAX_CANDIDATE_TEMPLATE = 262_144  # Jinja2 source
MAX_TEMPLATE_VARIABLES_BYTES = 1_048_576  # the serialized variables Struct
MAX_COMMIT_MESSAGE = 1_024

# Labels stored with a job.
MAX_LABELS = 64
MAX_LABEL_KEY = 128
MAX_LABEL_VALUE = 1_024

# File transfer: permission bits a PutFile may set unless the operator allows more
# (setting allow_special_file_modes: setuid, setgid and sticky bits too).
PLAIN_FILE_MODE_BITS = 0o777
SPECIAL_FILE_MODE_BITS = 0o7777


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of at most ``limit`` characters of ``value``, saying how long the rest was."""
    text = value if isinstance(value, str | bytes) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def _shown(value: str | bytes, secret: bool) -> str:
    return "" if secret else f": {quote(value)}"


def check_length(field: str, value: str | bytes, limit: int, secret: bool = False) -> None:
    """At most ``limit`` characters; a ``secret`` value is never quoted back."""
    if len(value) > limit:
        raise InvalidRequest(f"{field} is {len(value)} characters long; at most {limit}{_shown(value, secret)}", field)


def check_text(field: str, value: str, limit: int, line_breaks: bool = False, secret: bool = False) -> None:
    """Bounded text with no NUL (and, unless allowed, no line break); a ``secret`` is never quoted back."""
    check_length(field, value, limit, secret)
    if "\0" in value:
        raise InvalidRequest(f"{field} contains a NUL character{_shown(value, secret)}", field)
    if not line_breaks and ("\n" in value or "\r" in value):
        raise InvalidRequest(f"{field} contains a line break{_shown(value, secret)}", field)


def check_seconds(field: str, value: float, maximum: float = MAX_SECONDS) -> float:
    """A finite, non-negative number of seconds, at most ``maximum`` (0 stays 0: "the default")."""
    if not math.isfinite(value):
        raise InvalidRequest(f"{field} must be a finite number of seconds (got {value})", field)
    if value < 0:
        raise InvalidRequest(f"{field} must not be negative (got {value:g})", field)
    if value > maximum:
        raise InvalidRequest(f"{field} is {value:g} seconds; at most {maximum:g}", field)
    return value


def check_enum(field: str, value: int, known: Sequence[int]) -> None:
    if value not in known:
        raise InvalidRequest(
            f"{field} {value} is not a known value (known: {', '.join(map(str, sorted(known)))})", field
        )


def check_labels(labels: Mapping[str, str]) -> None:
    if len(labels) > MAX_LABELS:
        raise InvalidRequest(f"request has {len(labels)} labels; at most {MAX_LABELS}", "labels")
    for key, value in labels.items():
        check_text("a label name", key, MAX_LABEL_KEY)
        check_text(f"label {quote(key)}", value, MAX_LABEL_VALUE, line_breaks=True)


def check_option_value(field: str, value: Any, depth: int = 0) -> None:
    """A JSON-like option value: finite numbers, bounded strings, bounded nesting."""
    if depth > MAX_OPTION_DEPTH:
        raise InvalidRequest(f"{field} nests deeper than {MAX_OPTION_DEPTH} levels", field)
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, float | int):
        if not math.isfinite(value):
            raise InvalidRequest(f"{field} must be a finite number (got {value})", field)
    elif isinstance(value, str):
        check_text(field, value, MAX_OPTION_STRING, line_breaks=True)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_text(f"a key of {field}", key, MAX_OPTION_NAME)
            check_option_value(f"{field}.{key}", item, depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_option_value(f"{field}[{index}]", item, depth + 1)
