"""Structured parsing of command output: TextFSM (inline or ntc-templates) and TTP.

Templates are checked when a request arrives, before any device is touched, so
a broken or refused template is a clear INVALID_ARGUMENT rather than a failed job.

Nothing a request carries runs in tetherd itself: TTP templates pass an
allow-list first (``ttp_policy``: no Python, no file or network access), and
every compile and parse runs in a sandboxed worker process under a wall-clock
limit (``sandbox``), so a catastrophic regex costs one worker, not the service.
Bounds and what is refused: docs/parsing.md.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ...drivers.contract import InvalidRequest
from .sandbox import PoolBusy, WorkerFailed, WorkerPool, WorkerStartFailed, WorkerTimeout
from .ttp_policy import MAX_TEMPLATE_CHARS, PolicyError, check_ttp_template

__all__ = ["MAX_OUTPUT_CHARS", "MAX_TEMPLATE_CHARS", "ParseSpec", "check_template", "close", "parse"]

MAX_OUTPUT_CHARS = 16 * 1024 * 1024  # output handed to a parser
MAX_RESULT_BYTES = 32 * 1024 * 1024  # parsed JSON handed back
MAX_NAME_CHARS = 1024  # platform and command given to ntc-templates
DEFAULT_TIMEOUT_SECONDS = 5.0  # TETHER_PARSE_TIMEOUT: wall clock per compile or parse
DEFAULT_WORKERS = 2  # TETHER_PARSE_WORKERS: parser processes at most
WORKER_ADDRESS_SPACE = 1024 * 1024 * 1024  # RLIMIT_AS of each worker
QUEUE_SECONDS = 60.0  # how long a call waits for a free worker
_VALIDATED_CACHE = 512
_TEXTFSM_OPTIONS = {"Required", "Filldown", "Fillup", "Key", "List"}


@dataclass(frozen=True)
class ParseSpec:
    kind: str  # "", "textfsm" or "ttp"
    template: str = ""


class ParseFailed(ValueError):
    """The command ran, but its output could not be parsed (the command's result is FAILED)."""


@dataclass(frozen=True)
class _Limits:
    seconds: float
    workers: int

    @classmethod
    def from_environment(cls) -> _Limits:
        seconds = _number("TETHER_PARSE_TIMEOUT", DEFAULT_TIMEOUT_SECONDS, 0.05, 600.0)
        workers = int(_number("TETHER_PARSE_WORKERS", DEFAULT_WORKERS, 1, 64))
        return cls(seconds, workers)


def _number(name: str, default: float, low: float, high: float) -> float:
    text = os.environ.get(name, "")
    try:
        value = float(text) if text else default
    except ValueError:
        value = default
    return min(max(value, low), high) if math.isfinite(value) else default


_lock = threading.Lock()
_closed = False
_pool: WorkerPool | None = None
_limits: _Limits | None = None
_validated: OrderedDict[str, None] = OrderedDict()


def _workers() -> tuple[WorkerPool, _Limits]:
    """The pool, created on first use: a tetherd that never parses starts no worker."""
    global _pool, _limits
    with _lock:
        if _closed:
            raise WorkerStartFailed("the parser is shut down")
        if _pool is None or _limits is None:
            _limits = _Limits.from_environment()
            _pool = WorkerPool(_limits.workers, WORKER_ADDRESS_SPACE)
        return _pool, _limits


def close() -> None:
    """Stop the parser workers for good (tetherd's shutdown): a later parse fails."""
    global _pool, _closed
    with _lock:
        pool, _pool, _closed = _pool, None, True
    if pool is not None:
        pool.close()


def worker_pids() -> list[int]:
    return _pool.pids if _pool is not None else []


def _run(request: dict[str, Any]) -> dict[str, Any]:
    pool, limits = _workers()
    request = {**request, "cpu_seconds": limits.seconds, "max_result_bytes": MAX_RESULT_BYTES}
    return pool.call(request, limits.seconds, QUEUE_SECONDS, MAX_RESULT_BYTES + (1 << 20))


def _check_textfsm(template: str) -> None:
    # TextFSM reads a Value's options with getattr(options_class, word): only its own five are allowed.
    for line in template.split("\n"):
        if not line.startswith("Value "):
            continue
        words = line.rstrip().split(" ")
        if len(words) >= 3 and not words[2].startswith("("):
            unknown = [option for option in words[1].split(",") if option not in _TEXTFSM_OPTIONS]
            if unknown:
                raise InvalidRequest(
                    f"parse.template is not a valid TextFSM template: unknown Value option {unknown[0][:40]!r}"
                )


def check_template(spec: ParseSpec) -> None:
    """Raise InvalidRequest unless ``spec`` can be used; repeated good templates are not checked again."""
    if spec.kind == "ttp" and not spec.template:
        raise InvalidRequest("parse.template is required for TTP parsing")
    if spec.kind not in ("textfsm", "ttp") or not spec.template:
        return
    if len(spec.template) > MAX_TEMPLATE_CHARS:
        raise InvalidRequest(f"parse.template is {len(spec.template)} characters long; at most {MAX_TEMPLATE_CHARS}")
    key = hashlib.sha256(f"{spec.kind}\0{spec.template}".encode(errors="surrogatepass")).hexdigest()
    with _lock:
        if key in _validated:
            _validated.move_to_end(key)
            return
    if spec.kind == "ttp":
        try:
            check_ttp_template(spec.template)
        except PolicyError as exc:
            raise InvalidRequest(str(exc)) from None
    else:
        _check_textfsm(spec.template)
    try:
        reply = _run({"op": "check", "kind": spec.kind, "template": spec.template})
    except WorkerTimeout:
        raise InvalidRequest(f"parse.template took longer than {_limit_seconds():g}s to compile") from None
    except (PoolBusy, WorkerStartFailed):
        raise  # DEADLINE_EXCEEDED, INTERNAL: not the template's fault
    except WorkerFailed as exc:
        raise InvalidRequest(f"parse.template could not be compiled: {exc}") from None
    if not reply.get("ok"):
        error = str(reply.get("error", ""))
        if reply.get("refused"):
            raise InvalidRequest(error if error.startswith("parse.template") else f"parse.template: {error}")
        what = "a valid TextFSM template" if spec.kind == "textfsm" else "a usable TTP template"
        raise InvalidRequest(f"parse.template is not {what}: {error}")
    with _lock:
        _validated[key] = None
        while len(_validated) > _VALIDATED_CACHE:
            _validated.popitem(last=False)


def _limit_seconds() -> float:
    return _limits.seconds if _limits is not None else DEFAULT_TIMEOUT_SECONDS


def parse(spec: ParseSpec, platform: str, command: str, output: str) -> str:
    """Return the parsed output as JSON text. Raises ValueError when it cannot parse."""
    if spec.kind == "textfsm":
        kind = "textfsm" if spec.template else "ntc"
    elif spec.kind == "ttp":
        kind = "ttp"
    else:
        raise ValueError(f"unknown parser {spec.kind!r}")
    if len(output) > MAX_OUTPUT_CHARS:
        raise ParseFailed(f"the output is {len(output)} characters; parsers take at most {MAX_OUTPUT_CHARS}")
    if kind == "ntc" and (len(platform) > MAX_NAME_CHARS or len(command) > MAX_NAME_CHARS):
        raise ParseFailed(f"ntc-templates has no template for a platform or command over {MAX_NAME_CHARS} chars")
    request = {"op": "parse", "kind": kind, "template": spec.template, "output": output}
    if kind == "ntc":
        request.update(platform=platform, command=command)
    name = {"ntc": "ntc-templates", "textfsm": "TextFSM", "ttp": "TTP"}[kind]
    try:
        reply = _run(request)
    except WorkerTimeout:
        raise ParseFailed(f"{name} parsing exceeded {_limit_seconds():g} s; its parser worker was stopped") from None
    except (WorkerFailed, PoolBusy) as exc:
        raise ParseFailed(f"{name} parsing failed: {exc}") from None
    if not reply.get("ok"):
        error = str(reply.get("error", ""))
        if kind == "ntc":
            raise ParseFailed(f"ntc-templates cannot parse {command[:80]!r} for {platform[:80]}: {error}")
        raise ParseFailed(f"{name} parsing failed: {error}")
    return str(reply["json"])
