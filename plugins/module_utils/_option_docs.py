# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The doc fragments' YAML, rendered from the option tables of :mod:`._options`.

The fragment files (plugins/doc_fragments/service.py, target.py) hold this text
literally: ansible-test reads documentation as literal strings. To change an option,
change the table and regenerate them::

    python3 tests/ansible/test_option_tables.py --write

tests/ansible/test_option_tables.py fails while a fragment differs from its rendering.

Private to the collection: not a public API.
"""

from __future__ import annotations

import json
import re
import textwrap
from typing import Any

from ansible_collections.tether.fleet.plugins.module_utils._options import SERVICE, TARGET, Option, Table

# Extra sections of the modules' fragments, which no option owns.
_MODULE_TAILS: dict[str, str] = {
    "service": """requirements:
  - The Python package C(tether) (C(pip install 'tether[server]')) in the Python that runs Ansible on
    the controller. It holds the gRPC client and, for the embedded default, tetherd itself.
notes:
  - The module runs on the controller as an action plugin and talks gRPC to tetherd; nothing runs on the
    device but the commands themselves. The task's connection (C(ansible_connection)) is not used.
""",
    "target": """notes:
  - A session is reused only by a request with the same driver, host, port, user and credentials.
""",
}
_TABLES: dict[str, Table] = {"service": SERVICE, "target": TARGET}
_PLAIN = re.compile(r"^[A-Za-z(][^\n]*$")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and ": " not in text and " #" not in text and not text.endswith(":"):
        return text
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


def _fallback_sentence(item: Option) -> str:
    """Where a value comes from when the task does not set it, as the modules' docs say it."""
    sources = [f"the variable C({name})" for name in item.variables]
    sources += [f"E({name})" for name in item.env]
    if item.fallback_text:
        sources.append(item.fallback_text)
    if item.default is not None:
        sources.append(f"V({_scalar(item.default)})")
    if not sources:
        return ""
    return "Falls back to " + ", then to ".join(sources) + "."


_WIDTH = 120  # ansible-test's pep8 allows 160 a line


def _lines(out: list[str], key: str, items: tuple[str, ...] | list[str]) -> None:
    """A YAML list of scalars, each wrapped: continuation lines fold back into one line."""
    out.append(f"    {key}:")
    for text in items:
        out.extend(
            textwrap.wrap(
                _scalar(text),
                width=_WIDTH,
                initial_indent="      - ",
                subsequent_indent="        ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        )


def module_fragment(concern: str) -> str:
    out = ["", "options:"]
    for item in _TABLES[concern]:
        if not item.for_modules():
            continue
        out.append(f"  {item.name}:")
        fallback = _fallback_sentence(item)
        _lines(out, "description", [*item.description, *([fallback] if fallback else [])])
        out.append(f"    type: {item.type}")
        if item.elements:
            out.append(f"    elements: {item.elements}")
        if item.choices:
            _lines(out, "choices", item.choices)
        if item.aliases:
            _lines(out, "aliases", item.aliases)
    return "\n".join(out) + "\n" + _MODULE_TAILS[concern]


def connection_fragment(concern: str) -> str:
    """Options for a connection plugin: Ansible's configuration system resolves them, and there
    the LAST variable or environment variable listed wins, so the table's order is reversed."""
    out = ["", "options:"]
    for item in _TABLES[concern]:
        if not item.for_connections():
            continue
        out.append(f"  {item.plugin_name}:")
        _lines(out, "description", item.connection_description or item.description)
        out.append(f"    type: {item.type}")
        default = item.connection_default if item.connection_default is not None else item.default
        if default is not None:
            out.append(f"    default: {_scalar(default)}")
        if item.choices:
            _lines(out, "choices", item.choices)
        if item.env:
            out.append("    env:")
            out.extend(f"      - name: {name}" for name in reversed(item.env))
        if item.ini_key:
            out.extend(["    ini:", "      - section: tether", f"        key: {item.ini_key}"])
        names = (*item.connection_fallback_variables, *reversed(item.variables))
        if names:
            out.append("    vars:")
            out.extend(f"      - name: {name}" for name in names)
        if item.keyword:
            out.extend(["    keyword:", f"      - name: {item.keyword}"])
    return "\n".join(out) + "\n"


def fragment_source(concern: str, summary: str) -> str:
    """The whole doc fragment file of ``concern``."""
    return f'''# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""{summary}

Rendered from plugins/module_utils/_options.py by plugins/module_utils/_option_docs.py:
do not edit by hand (tests/ansible/test_option_tables.py fails when they differ).
"""

from __future__ import annotations


class ModuleDocFragment:
    # For modules: the task option, then inventory variables, then environment variables.
    DOCUMENTATION = r"""{module_fragment(concern)}"""

    # For connection plugins (tether.fleet.pinned, tether.fleet.network_cli).
    CONNECTION = r"""{connection_fragment(concern)}"""
'''


SUMMARIES: dict[str, str] = {
    "service": "Documentation of the options that say how to reach tetherd.",
    "target": "Documentation of the options that say which device to reach and how to log in.",
}


def _literal(value: Any) -> str:
    if isinstance(value, tuple):
        items = ", ".join(_literal(item) for item in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def _mapping(name: str, annotation: str, values: dict[str, Any]) -> list[str]:
    if not values:
        return [f"{name}: {annotation} = {{}}"]
    lines = [f"{name}: {annotation} = {{"]
    lines.extend(f"    {json.dumps(key)}: {_literal(value)}," for key, value in values.items())
    return [*lines, "}"]


def sources_source() -> str:
    """plugins/module_utils/_option_sources.py: the tables' names, sources and defaults, compact.

    A connection plugin's task worker imports its modules afresh on every task, and Ansible's
    collection loader compiles them from source each time: the whole table (descriptions and all)
    would cost that hot path about a millisecond a task, this compact rendering a fraction of it."""
    from ansible_collections.tether.fleet.plugins.module_utils import _options as o

    out = [
        "# Copyright (c) Tether maintainers",
        "# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)",
        "# SPDX-License-Identifier: GPL-3.0-or-later",
        '"""The option tables\' names, sources and defaults, for the connection plugins\' hot path.',
        "",
        "Rendered from plugins/module_utils/_options.py by plugins/module_utils/_option_docs.py:",
        "do not edit by hand (tests/ansible/test_option_tables.py fails when they differ).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any",
        "",
    ]
    for concern, table in (("SERVICE", o.SERVICE), ("TARGET", o.TARGET)):
        out += _mapping(f"{concern}_CONNECTION_NAMES", "dict[str, str]", o.connection_names(table))
        out += _mapping(f"{concern}_VARIABLES", "dict[str, tuple[str, ...]]", o.variables(table))
        out += _mapping(f"{concern}_ENV", "dict[str, tuple[str, ...]]", o.environment(table))
        out += _mapping(f"{concern}_DEFAULTS", "dict[str, Any]", o.defaults(table))
    return "\n".join(out) + "\n"
