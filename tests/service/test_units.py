"""Pure logic, no peers: config diffing, session keys, request validation, settings."""

from __future__ import annotations

import pytest

from tether.config import ConfigError, load
from tether.core.session import SessionKey
from tether.drivers.contract import ConnectionSpec, InvalidRequest
from tether.drivers.netmiko_driver import NetmikoDriver
from tether.drivers.null_driver import NullDriver
from tether.operations.configdiff import missing_lines
from tether.operations.requests import Defaults, Redactor, connection_spec, merge_connection, operation_spec
from tether.v1 import messages as pb

RUNNING = """Building configuration...
!
hostname sw01
!
interface FastEthernet0/1
 description old
 shutdown
!
interface FastEthernet0/2
!
end
"""


def test_missing_lines_keeps_parent_context_and_skips_present_lines() -> None:
    candidate = ["hostname sw01", "interface FastEthernet0/1", " description old", " mtu 9000", "vlan 10", " name ten"]
    assert missing_lines(candidate, RUNNING) == ["interface FastEthernet0/1", " mtu 9000", "vlan 10", " name ten"]


def test_missing_lines_is_empty_when_everything_is_present() -> None:
    assert missing_lines(["interface FastEthernet0/1", " description old"], RUNNING) == []


def test_same_child_under_another_parent_is_missing() -> None:
    assert missing_lines(["interface FastEthernet0/2", " shutdown"], RUNNING) == [
        "interface FastEthernet0/2",
        " shutdown",
    ]


def _spec(**kw: object) -> ConnectionSpec:
    base: dict[str, object] = {"host": "10.0.0.1", "port": 22, "platform": "cisco_ios", "username": "admin"}
    base.update(kw)
    return ConnectionSpec(**base)  # type: ignore[arg-type]


def test_session_key_separates_credentials_and_hides_them() -> None:
    secret = b"k" * 32
    one = SessionKey.for_spec(NetmikoDriver, _spec(password="alpha-pass"), secret)
    same = SessionKey.for_spec(NetmikoDriver, _spec(password="alpha-pass"), secret)
    other = SessionKey.for_spec(NetmikoDriver, _spec(password="beta-pass"), secret)
    assert one == same
    assert one != other and one.fingerprint != other.fingerprint
    assert "alpha-pass" not in repr(one) and "alpha-pass" not in one.fingerprint
    # Another process (another secret) cannot correlate digests.
    assert SessionKey.for_spec(NetmikoDriver, _spec(password="alpha-pass"), b"x" * 32) != one


def test_session_key_includes_session_shaping_options() -> None:
    secret = b"k" * 32
    fast = SessionKey.for_spec(NetmikoDriver, _spec(password="p", options={"fast_cli": True}), secret)
    slow = SessionKey.for_spec(NetmikoDriver, _spec(password="p", options={"fast_cli": False}), secret)
    assert fast != slow


def test_connection_spec_names_the_bad_field() -> None:
    defaults = Defaults()
    with pytest.raises(InvalidRequest, match="connection.host is required"):
        connection_spec(pb.Connection(platform="cisco_ios", username="u", password="p"), defaults, NetmikoDriver)
    with pytest.raises(InvalidRequest, match="'cisco_iosx' is not a netmiko device_type"):
        connection_spec(
            pb.Connection(host="h", platform="cisco_iosx", username="u", password="p"), defaults, NetmikoDriver
        )
    with pytest.raises(InvalidRequest, match="unknown netmiko option 'fastcli'"):
        message = pb.Connection(host="h", platform="cisco_ios", username="u", password="p")
        message.options.update({"fastcli": True})
        connection_spec(message, defaults, NetmikoDriver)
    with pytest.raises(InvalidRequest, match="targets\\[3\\]: connection.host is required"):
        connection_spec(pb.Connection(), defaults, NullDriver, where="targets[3]")


def test_bulk_target_overrides_only_set_fields() -> None:
    shared = pb.Connection(host="ignored", platform="cisco_ios", username="admin", password="pw", port=22)
    merged = merge_connection(shared, pb.Connection(host="sw7", port=2222))
    assert (merged.host, merged.port, merged.username, merged.password) == ("sw7", 2222, "admin", "pw")


def test_operation_validation() -> None:
    defaults = Defaults()
    with pytest.raises(InvalidRequest, match="needs commands or config"):
        operation_spec(pb.Operation(), defaults)
    with pytest.raises(InvalidRequest, match="line break"):
        operation_spec(pb.Operation(commands=["show version\nreload"]), defaults)
    with pytest.raises(InvalidRequest, match="not a valid TextFSM template"):
        operation_spec(
            pb.Operation(commands=["x"], parse=pb.Parse(kind=pb.Parse.KIND_TEXTFSM, template="Value X (\\S+\n")),
            defaults,
        )
    with pytest.raises(InvalidRequest, match="expect_prompt is not a valid regular expression"):
        operation_spec(pb.Operation(commands=["x"], expect_prompt="(["), defaults)


def test_redactor_masks_every_secret() -> None:
    redact = Redactor.for_specs([_spec(password="hunter22", secret="enable-me")])
    assert redact("user admin password hunter22 enable enable-me") == "user admin password ******** enable ********"


def test_settings_precedence_and_tcp_requires_tls(tmp_path: object) -> None:
    settings = load(environ={"TETHER_MAX_SESSIONS": "7"}, overrides={"idle_timeout": 3.0})
    assert settings.max_sessions == 7 and settings.idle_timeout == 3.0
    assert settings.listen.startswith("unix:")
    with pytest.raises(ConfigError, match="requires TLS"):
        load(environ={}, overrides={"listen": "127.0.0.1:7443"})
    with pytest.raises(ConfigError, match="not a valid int"):
        load(environ={"TETHER_MAX_SESSIONS": "many"})


def test_check_mode_prediction_keeps_end_last() -> None:
    from tether.operations.configdiff import predicted

    after = predicted(RUNNING, ["vlan 10", " name ten"])
    assert after.rstrip().splitlines()[-3:] == ["vlan 10", " name ten", "end"]


def test_prompt_pattern_for_bare_and_named_prompts() -> None:
    import re

    from tether.drivers.netmiko_driver import _prompt_pattern

    named = re.compile(_prompt_pattern("sw01", "sw01#"))
    assert named.search("Cisco IOS\nsw01#") and named.search("x\nsw01(config-if)#")
    assert not named.search("hostname sw01\n")
    bare = re.compile(_prompt_pattern("", "$"))
    assert bare.search("hi\n$ ") and not bare.search("hi\n")


def test_job_store_keeps_its_bounds(tmp_path: object) -> None:
    from pathlib import Path

    from tether.core.jobs import JobStore

    store = JobStore(Path(str(tmp_path)) / "jobs.db", max_jobs=3)
    for i in range(5):
        job = store.create(pb.JOB_KIND_EXECUTE, "null", [f"h{i}"], ["x"], {})
        store.finish(job, pb.JOB_STATE_SUCCEEDED)
    store.flush()
    store.prune()
    import asyncio

    jobs, _ = asyncio.run(store.list_jobs(page_size=10))
    assert [j.targets[0] for j in jobs] == ["h4", "h3", "h2"]
    store.close()


def test_a_timeout_raised_by_the_driver_is_not_mistaken_for_a_hung_session() -> None:
    import asyncio
    import time

    from tether.core.pool import PoolLimits, SessionPool
    from tether.drivers.null_driver import NullDriver

    async def scenario() -> None:
        pool = SessionPool(PoolLimits())
        spec = ConnectionSpec(host="h", port=22)

        def times_out(driver: object) -> None:
            raise TimeoutError("the device's own timeout")

        with pytest.raises(TimeoutError, match="the device's own timeout"):
            await pool.run(NullDriver, spec, times_out, time.monotonic() + 5)
        assert pool.counters.get("sessions_closed_hung", 0) == 0
        assert len(pool.sessions) == 1
        await pool.shutdown()

    asyncio.run(scenario())
