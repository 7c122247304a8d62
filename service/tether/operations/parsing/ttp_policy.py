"""Which TTP templates tetherd accepts: an allow-list of constructs that cannot run code.

TTP (0.9 and 0.10) evaluates Python in many places: ``<macro>`` blocks and the
``macro`` functions run Python with full builtins; ``load="python"`` (the default
of ``<vars>``, ``<lookup>``, ``<input>``) ``exec``s the tag's text; every function
argument (``{{ x | re("...") }}``, group attributes) goes through ``eval``; an
unknown match function falls back to ``getattr`` on the matched string, which
reaches ``__class__`` and beyond. ``<extend>``, ``<input>``, ``include=``,
``base_path`` and a group's ``input=`` read files; ``<output>`` returners write
files or reach the network; some functions import modules (dns, geoip2,
cerberus, n2g).

The check below reads the template the way TTP does (same XML wrapping, same
splitting of ``{{ ... }}`` variables and of ``a | b(args)`` chains, in linear
time) and accepts only tags, attributes and functions known to be harmless, with
arguments that are plain literals. Everything else is refused with a message
naming the construct. The worker (``worker.py``) additionally runs TTP with
``eval``/``exec`` and file loading replaced by the literal-only versions here, so
a construct this check missed still cannot run code.

Pure and dependency-free: imported by tetherd and by the parser worker.
"""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

MAX_TEMPLATE_CHARS = 64 * 1024
MAX_VARIABLES_PER_LINE = 64
MAX_VARIABLES = 4096
MAX_NESTING = 32


class PolicyError(ValueError):
    """The template uses a construct tetherd refuses; the message names it."""


def _quote(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


# --- what is allowed -------------------------------------------------------

_TEMPLATE_ATTRIBUTES = {"name", "results", "pathchar"}
_RESULTS_METHODS = {"per_input", "per_template"}
_GROUP_TAGS = {"group", "g", "grp"}
_VARS_TAGS = {"vars", "v", "variables"}
_STRUCT_LOADERS = {"python", "json", "yaml", "csv", "ini", "text"}  # "python": literals only
_GROUP_OPTIONS = {"name", "method", "default"}
_GROUP_METHODS = {"group", "table"}
_GROUP_FUNCTIONS = {
    "contains", "contains_val", "containsall", "del", "equal", "exclude", "exclude_val", "excludeall",
    "expand", "itemize", "items2dict", "lookup", "record", "set", "str_to_unicode", "to_int", "to_ip", "void",
}  # fmt: skip
_MATCH_FUNCTIONS = {
    "append", "cidr_match", "contains", "contains_re", "copy", "count", "endswith_re", "equal", "exclude",
    "exclude_re", "gpvlookup", "greaterthan", "ip_info", "is_ip", "isdigit", "item", "join", "joinmatches",
    "lessthan", "let", "lookup", "mac_eui", "notdigit", "notendswith_re", "notequal", "notstartswith_re",
    "prepend", "record", "replaceall", "resub", "resuball", "rlookup", "set", "startswith_re", "to_cidr",
    "to_float", "to_int", "to_ip", "to_list", "to_net", "to_str", "to_unicode", "truncate", "unrange",
    "uptimeparse", "void",
    # handled while the template is read (ttp.py _variable_class.extract_functions)
    "ignore", "_start_", "_end_", "_line_", "_exact_", "_exact_space_", "_headers_", "columns", "default", "re",
}  # fmt: skip
_PATTERNS = {"PHRASE", "ROW", "ORPHRASE", "DIGIT", "IP", "PREFIX", "IPV6", "PREFIXV6", "_line_", "WORD", "MAC"}
# Methods of the matched string TTP may call when a name is not one of its functions.
STRING_METHODS = {
    "upper", "lower", "title", "capitalize", "casefold", "swapcase", "strip", "lstrip", "rstrip", "split",
    "rsplit", "splitlines", "replace", "startswith", "endswith", "isdigit", "isalpha", "isalnum", "isnumeric",
    "isdecimal", "isspace", "islower", "isupper", "istitle", "find", "rfind", "removeprefix", "removesuffix",
}  # fmt: skip
ALLOWED_MATCH_NAMES = _MATCH_FUNCTIONS | _PATTERNS | STRING_METHODS

_RUNS_PYTHON = "which runs Python in the service"
_REASONS = {
    "macro": _RUNS_PYTHON,
    "chain": "whose function chain is looked up indirectly; write the functions in the template",
    "functions": "whose function chain is looked up indirectly; write the functions as attributes",
    "dns": "which reaches the network from the service",
    "rdns": "which reaches the network from the service",
    "geoip_lookup": "which reads a database file on the service's disk",
    "print": "which writes to the service's own output",
    "sformat": "whose format strings reach into Python objects",
    "validate": "which imports a module in the service",
    "cerberus": "which imports a module in the service",
    "input": "which reads files from the service's disk",
    "output": "whose returners and formatters write files or reach the network",
    "include": "which reads files from the service's disk",
    "database": "which reads a database file on the service's disk",
    "base_path": "which reads files from the service's disk",
}
_TAG_REASONS = {
    "macro": _RUNS_PYTHON,
    "extend": "which reads files from the service's disk",
    "input": "which reads files and runs input functions (the command's output is the only input)",
    "i": "which reads files and runs input functions (the command's output is the only input)",
    "in": "which reads files and runs input functions (the command's output is the only input)",
    "output": "whose returners and formatters write files, reach the network or run Python",
    "o": "whose returners and formatters write files, reach the network or run Python",
    "out": "whose returners and formatters write files, reach the network or run Python",
}
# Names the module TTP evals arguments in defines (ttp/utils/get_attributes.py): a
# bare name resolves to these objects instead of to its own text.
_RESOLVING_NAMES = {"re", "sys", "traceback", "logging", "log", "get_attributes"}


def _refuse(construct: str, reason: str = "") -> PolicyError:
    why = reason or "which is not on tetherd's list of allowed TTP constructs (docs/parsing.md)"
    return PolicyError(f"parse.template uses TTP {construct}, {why}: refused")


# --- literal-only replacements for TTP's eval/exec ---------------------------


def _literal(node: ast.expr) -> Any:
    """The value of a literal node, with TTP's bare-name-is-a-string rule; PolicyError otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool | type(None)):
        return node.value
    if isinstance(node, ast.Name):
        name = node.id
        if name.startswith("__") or name in _RESOLVING_NAMES:
            raise PolicyError(f"argument {_quote(name)} names a Python object")
        return {"true": True, "false": False, "none": None}.get(name.lower(), name)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = node.operand
        if isinstance(operand, ast.Constant) and isinstance(operand.value, int | float):
            number: int | float = operand.value
            return -number if isinstance(node.op, ast.USub) else number
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        items = [_literal(item) for item in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.Dict) and all(key is not None for key in node.keys):
        return {_literal(key): _literal(value) for key, value in zip(node.keys, node.values, strict=True) if key}
    raise PolicyError("arguments must be plain literals (strings, numbers, lists)")


def literal_arguments(options: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``options`` as TTP's ``eval("_get_args_kwargs(options)")`` would read them, without eval."""
    try:
        tree = ast.parse(f"_f({options})", mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise PolicyError(f"arguments {_quote(options)} are not valid") from None
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "_f"):
        raise PolicyError(f"arguments {_quote(options)} are not plain literals")
    args: list[Any] = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            raise PolicyError(f"arguments {_quote(options)} are not plain literals")
        args.append(_literal(arg))
    kwargs: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise PolicyError(f"arguments {_quote(options)} are not plain literals")
        kwargs[keyword.arg] = _literal(keyword.value)
    return tuple(args), kwargs


def _name_and_options(item: str) -> tuple[str, str | None]:
    """TTP's ``^(?P<name>\\S+?)\\s?(\\((?P<options>.*)\\))?$`` on a stripped item, in linear time."""
    size = len(item)
    last_newline = item.rfind("\n")

    def parenthesised_from(start: int) -> bool:  # item[start:] is "(" + body without newline + ")"
        return item[start] == "(" and item.endswith(")") and start <= size - 2 and last_newline < start + 1

    for end in range(1, size + 1):
        if end == size:
            return item, None
        char = item[end]
        if char == "(" and parenthesised_from(end):
            return item[:end], item[end + 1 : -1]
        if char.isspace():
            if end + 1 < size and parenthesised_from(end + 1):
                return item[:end], item[end + 2 : -1]
            break
    raise PolicyError(f"{_quote(item)} is not a function call TTP can read")


def split_chain(line: str) -> Iterator[tuple[str, str | None]]:
    """The (name, options) items of ``a | b(1) | c``, split exactly as TTP splits them."""
    for item in line.split("|"):
        item = item.strip()
        if item:
            yield _name_and_options(item)


def safe_get_attributes(line: str) -> list[dict[str, Any]]:
    """Drop-in for ``ttp.utils.get_attributes.get_attributes`` that never evaluates code."""
    result: list[dict[str, Any]] = []
    for name, options in split_chain(line):
        opts: dict[str, Any] = {"args": [], "kwargs": {}, "name": name}
        if options:
            opts["args"], opts["kwargs"] = literal_arguments(options)
        result.append(opts)
    return result


def python_literals(text: str) -> Any:
    """Drop-in for TTP's ``load="python"``: ``name = literal`` lines, or one literal; nothing runs."""
    try:
        tree = ast.parse(text, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise PolicyError('a load="python" block is not valid Python literals') from None
    data: dict[str, Any] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) for t in statement.targets):
            value = _literal(statement.value)
            data.update({target.id: value for target in statement.targets if isinstance(target, ast.Name)})
        elif not (isinstance(statement, ast.Expr) and len(tree.body) == 1):
            raise PolicyError('a load="python" block may only assign literals (name = value)')
    if data or not tree.body:
        return data
    only = tree.body[0]
    assert isinstance(only, ast.Expr)
    return _literal(only.value)


# --- reading a template as TTP does ------------------------------------------


def construct_etree(text: str) -> ET.Element:
    """ttp.py ``_template_class.construct_etree``: the same wrapping, so both see one tree."""
    try:
        root = ET.XML(text)
        if root.tag.lower() != "template":
            root = ET.XML(f"<template>\n{text}\n</template>")
    except ET.ParseError:
        root = ET.XML(f"<template>\n{text}\n</template>")
    if not list(root):
        root = ET.XML(f'<template><group name="_anonymous_">\n{text}\n</group></template>')
    return root


def match_variables(line: str) -> list[str]:
    """``re.findall(r"{{([\\S\\s]+?)}}", line)`` in linear time (TTP's own call is quadratic)."""
    found: list[str] = []
    position = 0
    while (start := line.find("{{", position)) >= 0:
        end = line.find("}}", start + 3)
        if end < 0:
            raise PolicyError(f"parse.template has '{{{{' without a closing '}}}}' in line {_quote(line.strip())}")
        found.append(line[start + 2 : end])
        position = end + 2
    return found


class _Checker:
    def __init__(self) -> None:
        self.variables = 0

    def template(self, element: ET.Element, depth: int) -> None:
        if depth > MAX_NESTING:
            raise PolicyError(f"parse.template nests templates or groups deeper than {MAX_NESTING}")
        for name, value in element.attrib.items():
            if name not in _TEMPLATE_ATTRIBUTES:
                raise _refuse(f"<template {name}=...>", _REASONS.get(name, ""))
            if name == "results" and value not in _RESULTS_METHODS:
                raise PolicyError(f"parse.template: results={_quote(value)} must be per_input or per_template")
        for child in element:
            tag = str(child.tag).lower()
            if tag in _GROUP_TAGS:
                self.group(child, depth + 1)
            elif tag in _VARS_TAGS:
                self.struct(child, "vars", {"name", "load"})
            elif tag == "lookup":
                self.struct(child, "lookup", {"name", "load", "key"})
            elif tag == "template":
                self.template(child, depth + 1)
            elif tag == "doc":  # TTP only keeps its text as the template's description
                if child.attrib or len(child):
                    raise _refuse("<doc> with attributes or tags")
            else:
                raise _refuse(f"<{_quote(str(child.tag), 20)[1:-1]}>", _TAG_REASONS.get(tag, ""))

    def struct(self, element: ET.Element, tag: str, allowed: set[str]) -> None:
        for name in element.attrib:
            if name not in allowed:
                raise _refuse(f"<{tag} {name}=...>", _REASONS.get(name, ""))
        load = element.attrib.get("load", "python").lower()
        if load not in _STRUCT_LOADERS:
            raise _refuse(f'<{tag} load="{_quote(load, 20)[1:-1]}">')
        if load == "python" and (element.text or "").strip():
            try:
                python_literals(element.text or "")
            except PolicyError as exc:
                reason = f"{_RUNS_PYTHON} unless it only assigns literals ({exc})"
                raise _refuse(f'<{tag} load="python">', reason) from None
        if len(element):
            raise _refuse(f"<{tag}> with nested tags")

    def group(self, element: ET.Element, depth: int) -> None:
        if depth > MAX_NESTING:
            raise PolicyError(f"parse.template nests templates or groups deeper than {MAX_NESTING}")
        for name, value in element.attrib.items():
            lowered = name.lower()
            if lowered in _GROUP_OPTIONS:
                if lowered == "method" and value.lower().strip() not in _GROUP_METHODS:
                    raise PolicyError(f"parse.template: group method={_quote(value)} must be group or table")
                continue
            if lowered in _REASONS:
                raise _refuse(f"group attribute {lowered}=", _REASONS[lowered])
            # TTP reads any other attribute as a group function: name(value), split on "|".
            for function, options in split_chain(f"{name}({value})"):
                self.function(function, options, _GROUP_FUNCTIONS, "group function")
        self.lines(element.text or "")
        for child in element:
            tag = str(child.tag).lower()
            if tag not in _GROUP_TAGS:
                raise _refuse(f"<{_quote(str(child.tag), 20)[1:-1]}> inside a group", _TAG_REASONS.get(tag, ""))
            self.group(child, depth + 1)
            self.lines(child.tail or "")

    def lines(self, text: str) -> None:
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith("##"):
                continue
            variables = match_variables(line.rstrip())
            self.variables += len(variables)
            if len(variables) > MAX_VARIABLES_PER_LINE or self.variables > MAX_VARIABLES:
                raise PolicyError(
                    f"parse.template has more than {MAX_VARIABLES_PER_LINE} match variables in a line"
                    f" or {MAX_VARIABLES} in all"
                )
            for variable in variables:
                self.variable(variable)
                if next(split_chain(variable))[0] == "_headers_":
                    self.headers(line.rstrip(), variable)

    def headers(self, line: str, variable: str) -> None:
        # TTP turns each column header of a {{ _headers_ }} line into "H | strip | exclude(H)" and evals it.
        prefix = line[: line.find("{{" + variable + "}}")].rstrip()
        for header in prefix.split():
            self.variable(f"{header} | strip | exclude({header})")

    def variable(self, variable: str) -> None:
        items = list(split_chain(variable))
        if not items:
            raise PolicyError("parse.template has an empty match variable '{{ }}'")
        (_, first_options), rest = items[0], items[1:]
        if first_options:
            self.arguments(first_options)
        for function, options in rest:
            self.function(function, options, ALLOWED_MATCH_NAMES, "function")

    def function(self, name: str, options: str | None, allowed: set[str], kind: str) -> None:
        if name not in allowed:
            raise _refuse(f"{kind} {_quote(name)}", _REASONS.get(name, ""))
        if options:
            self.arguments(options)

    @staticmethod
    def arguments(options: str) -> None:
        try:
            literal_arguments(options)
        except PolicyError as exc:
            raise PolicyError(f"parse.template: {exc}; TTP would evaluate them as Python: refused") from None


def check_ttp_template(text: str) -> None:
    """Raise PolicyError naming the first construct of ``text`` tetherd does not run."""
    if len(text) > MAX_TEMPLATE_CHARS:
        raise PolicyError(f"parse.template is {len(text)} characters long; at most {MAX_TEMPLATE_CHARS}")
    lowered = text.lower()
    if "<!doctype" in lowered or "<!entity" in lowered:
        raise PolicyError(
            "parse.template has an XML <!DOCTYPE> or <!ENTITY> declaration (entities expand without bound): refused"
        )
    try:
        root = construct_etree(text)
    except ET.ParseError as exc:
        raise PolicyError(f"parse.template is not a usable TTP template: {exc}") from None
    _Checker().template(root, 0)
