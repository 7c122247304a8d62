"""Jinja2 rendering of a request's configuration template, inside the parser worker processes.

A template is code: ``{% for %}`` nests into billions of iterations, ``'x' * 10**9``
asks for gigabytes, and attribute access walks from any string to ``__class__`` and
beyond. So it renders in ``ImmutableSandboxedEnvironment`` (no loader: no file is
ever read; ``StrictUndefined``: a missing variable is an error, not an empty string;
unsafe attributes refused; string and list repetition and powers bounded) and that
runs in a sandboxed worker (``sandbox.py``) under its CPU, memory and wall-clock
limits, so a loop bomb costs one worker. The output is bounded as it is generated.

``render_in_worker`` is the worker's half; :func:`render_template` the service's.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping
from typing import Any

MAX_RENDERED_CHARS = 1_048_576  # the rendered candidate
MAX_REPEAT_CHARS = 1_048_576  # one 'x' * n or [..] * n inside the template
MAX_EXPONENT = 1_000


class RenderRefused(ValueError):
    """The template is not allowed or too big (the worker's reply is ``refused``)."""


def render_in_worker(template: str, variables: Mapping[str, Any], max_chars: int) -> str:
    """(worker) Render ``template`` with ``variables``; at most ``max_chars`` characters."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class BoundedEnvironment(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
            if op == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise RenderRefused(f"template: exponent {right} is above {MAX_EXPONENT}")
            if op == "*":
                for seq, count in ((left, right), (right, left)):
                    repeats = isinstance(seq, str | list | tuple) and isinstance(count, int)
                    if repeats and len(seq) * count > MAX_REPEAT_CHARS:
                        raise RenderRefused(f"template: a repetition makes more than {MAX_REPEAT_CHARS} items")
                return operator.mul(left, right)
            return super().call_binop(context, op, left, right)

    environment = BoundedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    compiled = environment.from_string(template)
    chunks: list[str] = []
    size = 0
    for chunk in compiled.generate(**variables):
        size += len(chunk)
        if size > max_chars:
            raise RenderRefused(f"template output exceeds {max_chars} characters")
        chunks.append(chunk)
    return "".join(chunks)


def render_template(template: str, variables: Mapping[str, Any], where: str = "candidate.template") -> str:
    """(service) The rendered text; InvalidRequest naming ``where`` when it cannot render."""
    from ...drivers.contract import InvalidRequest
    from . import _limit_seconds, _run
    from .sandbox import PoolBusy, WorkerFailed, WorkerStartFailed, WorkerTimeout

    try:
        reply = _run({"op": "render", "kind": "jinja2", "template": template, "variables": dict(variables)})
    except WorkerTimeout:
        raise InvalidRequest(
            f"{where} took longer than {_limit_seconds():g} s to render; its worker was stopped"
        ) from None
    except (PoolBusy, WorkerStartFailed):
        raise
    except WorkerFailed as exc:
        raise InvalidRequest(f"{where} could not be rendered: {exc}") from None
    if not reply.get("ok"):
        raise InvalidRequest(f"{where}: {str(reply.get('error', ''))[:500]}")
    rendered = json.loads(reply["json"])
    if not isinstance(rendered, str):
        raise InvalidRequest(f"{where} did not render to text")
    return rendered
