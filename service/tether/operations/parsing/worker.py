"""The parser worker: a separate, resource-limited process that runs TextFSM and TTP.

Started by ``sandbox.py`` as a fresh interpreter (never forked from tetherd) with
a minimal environment. Before reading any request it limits itself (address
space, no file growth, no core files, a CPU-time limit re-armed for every call),
makes TTP's ``eval``/``exec`` and file loading literal-only (``ttp_policy``), and
then answers framed JSON requests on stdin/stdout, one at a time. It exits when
tetherd closes its stdin, which also happens when tetherd dies.

Protocol: each message is a 4-byte big-endian length and a UTF-8 JSON object.
Request: ``{"op": "check"|"parse", "kind": "textfsm"|"ttp"|"ntc", "template",
"platform", "command", "output", "cpu_seconds", "max_result_bytes"}``, or
``{"op": "render", "kind": "jinja2", "template", "variables", ...}`` (``render.py``).
Reply: ``{"ok": true, "json": TEXT}`` or ``{"ok": false, "refused": BOOL, "error": TEXT}``,
plus ``"retire": true`` when this process should not be used again.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import struct
import sys
from collections import OrderedDict
from typing import IO, Any

from . import render, ttp_policy

HEADER = struct.Struct(">I")
_FSM_CACHE_SIZE = 32
_LIFETIME_CPU_SECONDS = 3600  # hard RLIMIT_CPU; the worker retires well before it


def read_frame(stream: IO[bytes]) -> bytes | None:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    body = stream.read(size)
    return body if len(body) == size else None


def write_frame(stream: IO[bytes], message: dict[str, Any]) -> None:
    body = json.dumps(message).encode()
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def _limit_self(address_space: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write to a file fails (EFBIG) instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if address_space > 0:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CPU, (_LIFETIME_CPU_SECONDS, _LIFETIME_CPU_SECONDS))


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _arm_cpu_limit(seconds: float) -> bool:
    """Let this call use ``seconds`` more CPU (SIGXCPU kills us past it); False when the lifetime is spent."""
    soft = int(_cpu_used() + seconds) + 1
    if soft >= _LIFETIME_CPU_SECONDS:
        return False
    resource.setrlimit(resource.RLIMIT_CPU, (soft, _LIFETIME_CPU_SECONDS))
    return True


def _make_ttp_literal_only() -> None:
    """Replace the three places where TTP evaluates text or opens paths, for every template."""
    from ttp.utils import get_attributes, load_python_exec, loaders

    def load_files(path: Any, extensions: Any = None, filters: Any = None, read: bool = False) -> list[Any]:
        if not isinstance(path, str):
            return [("structured_data", path)]
        return [("text_data", path)]  # never a file, a directory or a ttp:// reference

    def load_struct(text_data: str = "", **kwargs: Any) -> Any:
        if kwargs.get("include"):
            raise ttp_policy.PolicyError("include= reads files: refused")
        if not text_data:
            return None
        loader = str(kwargs.get("load", "python")).lower()
        safe = {
            "python": lambda text, **_: ttp_policy.python_literals(text),
            "json": loaders.load_json,
            "yaml": loaders.load_yaml,
            "csv": loaders.load_csv,
            "ini": loaders.load_ini,
            "text": loaders.load_text,
        }
        if loader not in safe:
            raise ttp_policy.PolicyError(f"load={loader!r}: refused")
        return safe[loader](text_data, **{k: v for k, v in kwargs.items() if k not in ("load", "include")})

    def no_exec(text_data: str, builtins: Any = None) -> Any:
        return ttp_policy.python_literals(text_data)

    loaders.load_files = load_files
    loaders.load_struct = load_struct
    load_python_exec.load_python_exec = no_exec
    get_attributes.get_attributes = ttp_policy.safe_get_attributes


class _MatchFunctions(dict[str, Any]):
    """TTP's match-function table: a name it lacks is tried as a method of the matched
    string (``getattr``), which reaches ``__class__`` and beyond; allow only plain ones."""

    def __missing__(self, name: str) -> Any:
        if name in ttp_policy.STRING_METHODS:
            raise KeyError(name)
        raise ttp_policy.PolicyError(f"match function {name[:40]!r} is not allowed")


class Parsers:
    def __init__(self) -> None:
        import textfsm
        from ntc_templates.parse import parse_output
        from ttp import ttp

        _make_ttp_literal_only()
        valid = set(textfsm.TextFSMOptions.ValidOptions())

        class KnownOptions(textfsm.TextFSMOptions):  # type: ignore[misc]
            @classmethod
            def GetOption(cls, name: str) -> Any:  # noqa: N802 - textfsm's name
                if name not in valid:  # textfsm itself does getattr(cls, name) with the template's word
                    raise AttributeError(name)
                return getattr(cls, name)

        self._textfsm = textfsm
        self._options = KnownOptions
        self._ttp = ttp
        self._parse_output = parse_output
        self._fsms: OrderedDict[str, Any] = OrderedDict()

    def textfsm(self, template: str) -> Any:
        fsm = self._fsms.pop(template, None)
        if fsm is None:
            fsm = self._textfsm.TextFSM(io.StringIO(template), options_class=self._options)
        self._fsms[template] = fsm
        while len(self._fsms) > _FSM_CACHE_SIZE:
            self._fsms.popitem(last=False)
        fsm.Reset()
        return fsm

    def ttp(self, template: str) -> Any:
        ttp_policy.check_ttp_template(template)
        parser = self._ttp(log_level="CRITICAL")
        parser._ttp_["match"] = _MatchFunctions(parser._ttp_["match"])
        parser.add_template(template)
        return parser

    def run(self, request: dict[str, Any]) -> Any:
        kind, template, output = request["kind"], request.get("template", ""), request.get("output", "")
        if kind == "textfsm":
            fsm = self.textfsm(template)
            if request["op"] == "check":
                return None
            rows = fsm.ParseText(output)
            return [dict(zip(fsm.header, row, strict=True)) for row in rows]
        if kind == "ttp":
            parser = self.ttp(template)
            if request["op"] == "check":
                return None
            parser.add_input(output, template_name="_all_")
            parser.parse(one=True)
            return parser.result(structure="flat_list")
        if kind == "jinja2":
            return render.render_in_worker(template, request.get("variables", {}), render.MAX_RENDERED_CHARS)
        if kind == "ntc":
            return self._parse_output(platform=request["platform"], command=request["command"], data=output)
        raise ValueError(f"unknown parser {kind!r}")


def _answer(parsers: Parsers, request: dict[str, Any]) -> dict[str, Any]:
    if not _arm_cpu_limit(float(request.get("cpu_seconds", 10))):
        return {"ok": False, "refused": False, "error": "parser worker retired", "retire": True}
    try:
        data = parsers.run(request)
        text = json.dumps(data, sort_keys=True, default=str)
    except (ttp_policy.PolicyError, render.RenderRefused) as exc:
        return {"ok": False, "refused": True, "error": str(exc)}
    except MemoryError:
        return {"ok": False, "refused": False, "error": "ran out of memory in the parser worker", "retire": True}
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - TTP raises anything, even SystemExit
        return {"ok": False, "refused": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}
    limit = int(request.get("max_result_bytes", 0))
    if limit and len(text) > limit:
        return {"ok": False, "refused": False, "error": f"parsed result is {len(text)} bytes; at most {limit}"}
    return {"ok": True, "json": text}


def main() -> None:
    address_space = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    # The protocol owns the real stdout; anything a library prints goes to stderr.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    _limit_self(address_space)
    parsers = Parsers()
    write_frame(replies, {"ok": True, "ready": os.getpid()})
    while (frame := read_frame(requests)) is not None:
        reply = _answer(parsers, json.loads(frame))
        write_frame(replies, reply)
        if reply.get("retire"):
            return


if __name__ == "__main__":
    main()
