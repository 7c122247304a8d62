"""Parse templates from requests: no code runs in tetherd, no regex stalls it (issue 7, defects 1 and 4).

Real tetherd processes with the null driver, which echoes each command back as its
output: a command is the "device output" a template parses.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness import Tetherd, wait_until
from tether.client import TetherError, pb

NULL = {"host": "null.example", "username": "u", "password": "pw", "platform": "cisco_ios"}
PARSE_TIMEOUT = 2.0
# A fast answer, with room for a loaded 2-core machine: a stalled service takes minutes.
LIVELY_SECONDS = 5.0
HUNG_SECONDS = 40.0


def hostile_templates(marker: Path) -> list[tuple[str, str, str]]:
    """(case, template, what the refusal must name); each would create ``marker`` (or read a file) if run."""
    write = f"__import__('pathlib').Path({str(marker)!r}).write_text('ran')"
    macro = f"def f(data):\n    {write}\n    return data\n{write}"
    # TTP runs load="python" text with no builtins; the classic escape reaches os.open all the same.
    escape = (
        "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]"
        f".__init__.__globals__['open']({str(marker)!r}, 65)"
    )
    return [
        ("macro block", f"<macro>\n{macro}\n</macro>\n{{{{ x }}}}", "<macro>"),
        ("macro block upper case", f"<MACRO>\n{macro}\n</MACRO>\n<group>\n{{{{ x }}}}\n</group>", "<MACRO>"),
        ("macro function", '<group>\n{{ x | macro("f") }}\n</group>', "function 'macro'"),
        ("group macro attribute", '<group macro="f">\n{{ x }}\n</group>', "macro="),
        ("vars python (default load)", f"<vars>\nx = {escape}\n</vars>\n<group>\n{{{{ x }}}}\n</group>", "<vars"),
        ("lookup python", f'<lookup name="l" load="python">\nx = {escape}\n</lookup>\n{{{{ x }}}}', "<lookup"),
        ("input python", f'<input load="python">\n{escape}\n</input>\n<group>\n{{{{ x }}}}\n</group>', "<input>"),
        (
            "template python in input",
            f"<template><input>\n{write}\n</input><group>{{{{ x }}}}</group></template>",
            "<input>",
        ),
        ("evaluated argument", f"{{{{ x | re({write}) }}}}", "plain literals"),
        ("evaluated group argument", f'<group contains="{write}">\n{{{{ x }}}}\n</group>', "plain literals"),
        ("evaluated _headers_ column", f"[{write}]  Name  {{{{ _headers_ }}}}", "plain literals"),
        ("string attribute escape", "{{ x | __class__ | __base__ | __subclasses__ }}", "'__class__'"),
        ("extend a file", '<extend template="/etc/passwd"/>\n<group>\n{{ x }}\n</group>', "<extend>"),
        (
            "lookup include",
            '<lookup name="l" load="text" include="/etc/passwd"/>\n<group>\n{{ x }}\n</group>',
            "include=",
        ),
        ("group input", '<group input="/etc/passwd">\n{{ x }}\n</group>', "input="),
        ("template base_path", '<template base_path="/etc/"><group>{{ x }}</group></template>', "base_path="),
        ("geoip database", '<lookup name="g" database="geoip2" load="ini">\n[x]\na=1\n</lookup>\n{{ x }}', "database="),
        (
            "output returner writes a file",
            f'<output returner="file" url="{marker.parent}/" filename="{marker.name}"/>\n<group>\n{{{{ x }}}}\n</group>',
            "<output>",
        ),
        ("dns lookup", "<group>\n{{ x | dns }}\n</group>", "'dns'"),
        (
            "chain through vars",
            '<vars load="json">\n{"c": "macro(\'f\')"}\n</vars>\n<group>\n{{ x | chain(\'c\') }}\n</group>',
            "'chain'",
        ),
        (
            "entity expansion",
            '<!DOCTYPE t [<!ENTITY a "aaaaaaaa">]><template><group>{{ x }}</group></template>',
            "DOCTYPE",
        ),
    ]


def test_hostile_ttp_templates_are_refused_naming_the_construct(tetherd: Tetherd, tmp_path: Path) -> None:
    client = tetherd.client()
    wrong: list[str] = []
    for case, template, named in hostile_templates(tmp_path / "marker"):
        marker = tmp_path / "marker"
        try:
            client.execute(NULL, ["x"], driver="null", parse="ttp", template=template)
            outcome = "accepted"
        except TetherError as error:
            ok = error.code == "INVALID_ARGUMENT" and named in error.message and "refused" in error.message
            outcome = "" if ok else f"{error.code}: {error.message[:200]}"
        if marker.exists():
            outcome += " and it RAN: the marker file was created"
            marker.unlink()
        if outcome:
            wrong.append(f"{case}: {outcome}")
    assert not wrong, "\n".join(wrong)
    assert client.execute(NULL, ["x"], driver="null").ok  # and the service still serves


def test_textfsm_value_options_are_only_textfsm_s_own(tetherd: Tetherd) -> None:
    with pytest.raises(TetherError) as error:
        tetherd.client().execute(
            NULL, ["x"], driver="null", parse="textfsm", template="Value __class__ X (\\S+)\n\nStart\n  ^${X}\n"
        )
    assert error.value.code == "INVALID_ARGUMENT" and "'__class__'" in error.value.message


class Heartbeat:
    """Another client running plain Execute calls in a loop; records each call's duration."""

    def __init__(self, daemon: Tetherd) -> None:
        self.client = daemon.client()
        self.durations: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.client.execute({**NULL, "host": "other.example"}, ["ping"], driver="null", timeout=HUNG_SECONDS)
            except TetherError as error:
                self.errors.append(str(error))
            self.durations.append(time.monotonic() - started)
            time.sleep(0.05)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(HUNG_SECONDS + 5)

    def assert_lively(self) -> None:
        assert not self.errors, self.errors[:3]
        assert self.durations, "the other client never got an answer"
        assert max(self.durations) < LIVELY_SECONDS, f"the other client waited {max(self.durations):.1f} s"


CATASTROPHIC_OUTPUT = "a" * 48 + "!"  # (a+)+b backtracks 2**48 ways on it


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "template"),
    [
        ("textfsm", "Value X ((a+)+b)\n\nStart\n  ^${X} -> Record\n"),
        ("ttp", '{{ x | re("(a+)+b") }}'),
        ("ttp", '<vars load="json">\n{"evil": "(a|aa)+b"}\n</vars>\n<group>\n{{ x | re("evil") }}\n</group>'),
    ],
    ids=["textfsm-value", "ttp-re", "ttp-var-pattern"],
)
def test_catastrophic_regex_fails_the_parse_in_bounded_time(
    tetherd_factory: Callable[..., Tetherd], kind: str, template: str
) -> None:
    daemon = tetherd_factory(env={"TETHER_PARSE_TIMEOUT": str(PARSE_TIMEOUT)})
    client = daemon.client(timeout=HUNG_SECONDS)
    with Heartbeat(daemon) as heartbeat:
        time.sleep(0.3)
        started = time.monotonic()
        reply = client.execute(NULL, [CATASTROPHIC_OUTPUT], driver="null", parse=kind, template=template)
        took = time.monotonic() - started
        time.sleep(0.3)
    assert not reply.ok
    result = reply.results[0]
    assert result.status == pb.RESULT_STATUS_FAILED
    assert result.error.startswith("parse: ") and f"exceeded {PARSE_TIMEOUT:g} s" in result.error, result.error
    assert result.output == CATASTROPHIC_OUTPUT  # the command's own output is kept
    assert took < HUNG_SECONDS
    heartbeat.assert_lively()
    # The killed worker was replaced: the same template on harmless output parses.
    again = client.execute(NULL, ["aab"], driver="null", parse=kind, template=template)
    assert again.ok and json.loads(again.results[0].parsed_json), again


def test_a_parse_that_exhausts_memory_fails_alone(tetherd: Tetherd) -> None:
    client = tetherd.client()
    template = '{{ x | unrange("-", ",") }}'  # 300 million numbers: past the worker's address-space limit
    reply = client.execute(NULL, ["1-300000000"], driver="null", parse="ttp", template=template)
    result = reply.results[0]
    assert result.status == pb.RESULT_STATUS_FAILED and "out of memory" in result.error, result.error
    again = client.execute(NULL, ["1-3"], driver="null", parse="ttp", template=template)
    assert json.loads(again.results[0].parsed_json) == [{"x": "1,2,3"}], again


def test_unclosed_braces_and_oversized_templates_are_refused_promptly(tetherd: Tetherd) -> None:
    client = tetherd.client()
    cases = [
        ("ttp", "{{" * 10_000, "'{{' without a closing '}}'"),
        ("ttp", "x {{" * 10_000 + " }}", "not a function call"),  # closed only at the very end
        ("ttp", "{{ a }}\n" * 9_000, "at most 65536"),
        ("ttp", "<group>\n" + "{{ a }} " * 200 + "\n</group>", "more than 64 match variables"),
        ("textfsm", "Value X (\\S+)\n\nStart\n" + "  ^${X} -> Record\n" * 5_000, "at most 65536"),
    ]
    with Heartbeat(tetherd) as heartbeat:
        for kind, template, named in cases:
            with pytest.raises(TetherError) as error:
                client.execute(NULL, ["x"], driver="null", parse=kind, template=template)
            assert error.value.code == "INVALID_ARGUMENT", error.value
            assert named in error.value.message, error.value.message[:300]
            assert len(error.value.message) < 400  # quotes a bounded prefix only
        time.sleep(0.2)
    heartbeat.assert_lively()


def test_good_templates_still_parse(tetherd: Tetherd) -> None:
    client = tetherd.client()
    line = "10   users   active    Fa0/1, Fa0/2"
    textfsm = "Value VLAN (\\d+)\nValue NAME (\\S+)\n\nStart\n  ^${VLAN}\\s+${NAME}\\s+active -> Record\n"
    rows = json.loads(
        client.execute(NULL, [line], driver="null", parse="textfsm", template=textfsm).results[0].parsed_json
    )
    assert rows == [{"VLAN": "10", "NAME": "users"}]
    ttp = """<template name="vlans" results="per_template">
<doc>VLAN table: literals in vars and lookups, group and match functions.</doc>
<vars>
site = "lab"
states = ["active", "act/lshut"]
</vars>
<lookup name="owners" load="csv">
name,owner
users,it
</lookup>
<group name="vlans" contains="vlan" method="table">
{{ vlan | DIGIT | to_int }} {{ name | lookup("owners", add_field="owner") }} {{ state | contains("active") }} {{ ports | ORPHRASE | split(", ") }}
</group>
</template>"""
    parsed = json.loads(client.execute(NULL, [line], driver="null", parse="ttp", template=ttp).results[0].parsed_json)
    assert parsed == [
        {
            "vlans": {
                "vlan": 10,
                "name": "users",
                "state": "active",
                "ports": ["Fa0/1", "Fa0/2"],
                "owner": {"owner": "it"},
            }
        }
    ], parsed
    # ntc-templates by platform and command (the null driver's output is the command: no rows, but parsed).
    clock = client.execute(NULL, ["show clock"], driver="null", parse="textfsm")
    assert clock.ok and json.loads(clock.results[0].parsed_json) == [], clock


def test_ntc_templates_lookup_cannot_be_steered_to_a_file(tetherd: Tetherd) -> None:
    """ntc-templates picks the template file from its index by regex; platform and command are never a path."""
    client = tetherd.client()
    for platform in ("../../../../etc", "/etc/passwd", "cisco_ios/../../../../etc/passwd"):
        for command in ("show version", "../../../../etc/passwd", "/etc/passwd"):
            reply = client.execute({**NULL, "platform": platform}, [command], driver="null", parse="textfsm")
            result = reply.results[0]
            # cisco_ios/... still matches the index's cisco_ios rows (a regex prefix match): the index's own file.
            assert result.status == pb.RESULT_STATUS_OK or "No template found" in result.error, result.error
            assert "root:" not in result.error + result.parsed_json


def _worker_pids(daemon_pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == daemon_pid and b"tether.operations.parsing.worker" in cmdline:
            found.add(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stop", "kill-9"])
def test_parser_workers_start_lazily_and_never_outlive_tetherd(tetherd: Tetherd, how: int) -> None:
    assert tetherd.process is not None
    pid = tetherd.process.pid
    client = tetherd.client()
    assert client.execute(NULL, ["x"], driver="null").ok
    assert _worker_pids(pid) == set()  # nothing parsed, nothing started
    template = "Value X (\\S+)\n\nStart\n  ^${X} -> Record\n"
    assert client.execute(NULL, ["x"], driver="null", parse="textfsm", template=template).ok
    workers = _worker_pids(pid)
    assert workers
    for worker in workers:
        environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
        assert not [e for e in environ if e.startswith((b"TETHER_", b"HOME=", b"SSH_"))], environ
    tetherd.stop(sig=how)
    wait_until(lambda: all(_gone(worker) for worker in workers), timeout=15, what="parser workers to exit")
    assert os.getpid() not in workers
