"""Structured parsing of command output: TextFSM (inline or ntc-templates) and TTP.

Templates are checked when a request arrives, before any device is touched, so
a broken template is a clear INVALID_ARGUMENT rather than a failed job.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from .drivers.contract import InvalidRequest


@dataclass(frozen=True)
class ParseSpec:
    kind: str  # "", "textfsm" or "ttp"
    template: str = ""


def check_template(spec: ParseSpec) -> None:
    if spec.kind == "textfsm" and spec.template:
        import textfsm

        try:
            textfsm.TextFSM(io.StringIO(spec.template))
        except textfsm.TextFSMTemplateError as exc:
            raise InvalidRequest(f"parse.template is not a valid TextFSM template: {exc}") from exc
    elif spec.kind == "ttp":
        if not spec.template:
            raise InvalidRequest("parse.template is required for TTP parsing")
        _ttp_parse(spec.template, "")


def parse(spec: ParseSpec, platform: str, command: str, output: str) -> str:
    """Return the parsed output as JSON text. Raises ValueError when it cannot parse."""
    data: Any
    if spec.kind == "textfsm":
        data = _textfsm_parse(spec.template, platform, command, output)
    elif spec.kind == "ttp":
        data = _ttp_parse(spec.template, output)
    else:
        raise ValueError(f"unknown parser {spec.kind!r}")
    return json.dumps(data, sort_keys=True)


def _textfsm_parse(template: str, platform: str, command: str, output: str) -> list[dict[str, Any]]:
    import textfsm

    if template:
        fsm = textfsm.TextFSM(io.StringIO(template))
        rows = fsm.ParseText(output)
        return [dict(zip(fsm.header, row, strict=True)) for row in rows]
    from ntc_templates.parse import parse_output

    try:
        parsed: list[dict[str, Any]] = parse_output(platform=platform, command=command, data=output)
    except Exception as exc:  # ntc-templates raises a bare Exception when it has no template
        raise ValueError(f"ntc-templates cannot parse {command!r} for {platform}: {exc}") from exc
    return parsed


def _ttp_parse(template: str, output: str) -> Any:
    from ttp import ttp

    try:
        parser = ttp(data=output, template=template, log_level="CRITICAL")
        parser.parse()
        return parser.result(structure="flat_list")
    except Exception as exc:  # ttp raises many unrelated types for a bad template
        raise InvalidRequest(f"parse.template is not a usable TTP template: {exc}") from exc
