"""The result models catch what they are there to catch (each can fail)."""

from __future__ import annotations

from google.protobuf.struct_pb2 import Value

from tests.contract import models
from tests.contract.models import problems
from tether.client import TetherError
from tether.v1 import messages as pb


def driver(**fields: object) -> pb.DriverInfo:
    values: dict[str, object] = {
        "name": "acme",
        "version": "1.0",
        "contract_min": 2,
        "contract_max": 2,
        "capabilities": ["commands"],
        "default_port": 22,
    }
    values.update(fields)
    return pb.DriverInfo(**values)  # type: ignore[arg-type]


def test_driver_info_model() -> None:
    assert problems(models.DriverInfoModel, driver()) == []
    assert problems(models.DriverInfoModel, driver(contract_min=1, contract_max=1))  # 2 not in range
    assert problems(models.DriverInfoModel, driver(capabilities=["commands", "teleport"]))
    assert problems(models.DriverInfoModel, driver(getters=["get_facts"]))  # names without the capability
    assert problems(models.DriverInfoModel, driver(capabilities=["commands", "getters"]))  # capability, no names
    assert problems(models.DriverInfoModel, driver(capabilities=["structured_output"]))  # refines commands
    assert problems(models.DriverInfoModel, driver(load_error="ImportError: no module"))
    same = {"linux": pb.CapabilitySet(capabilities=["commands"])}
    assert problems(models.DriverInfoModel, driver(platform_capabilities=same))  # lists only what differs
    eos = {"eos": pb.CapabilitySet(capabilities=["commands", "getters"])}
    assert problems(models.DriverInfoModel, driver(platform_capabilities=eos, getters=["get_facts"])) == []


def test_typed_data_must_be_structured_not_json_text() -> None:
    good = pb.CommandResult(command="show version", status=pb.RESULT_STATUS_OK)
    good.data.struct_value.update({"version": "4.30"})
    assert problems(models.CommandStructured, good, command="show version") == []
    text = pb.CommandResult(command="show version", status=pb.RESULT_STATUS_OK, data=Value(string_value='{"a": 1}'))
    assert any("JSON text" in p for p in problems(models.CommandStructured, text, command="show version"))
    getter = pb.GetterResult(name="get_facts", status=pb.RESULT_STATUS_OK)
    assert problems(models.GetterData, getter, name="get_facts")  # data unset


def test_refusal_model_wants_failed_precondition_naming_the_capability() -> None:
    named = TetherError("FAILED_PRECONDITION", "driver null lacks the capability exec this request needs")
    assert problems(models.Refusal, named, capability="exec") == []
    assert problems(models.Refusal, named, capability="file_transfer")
    assert problems(models.Refusal, TetherError("INVALID_ARGUMENT", "lacks the capability exec"), capability="exec")
