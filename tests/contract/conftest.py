"""One real tetherd per test module of the suite (per xdist worker): starting one per test cost
more than the checks on a loaded machine. Tests measure counters as deltas and close only the
sessions they opened, so they do not depend on each other's order."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.harness import Tetherd


@pytest.fixture(scope="module")
def tetherd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tetherd]:
    workdir = tmp_path_factory.mktemp("contract-tetherd")
    with pytest.MonkeyPatch.context() as env:  # the daemon inherits no user setting, socket or state dir
        for name in [n for n in os.environ if n.startswith("TETHER_")]:
            env.delenv(name)
        env.setenv("XDG_RUNTIME_DIR", str(workdir))
        env.setenv("XDG_STATE_HOME", str(workdir / "state-home"))
        daemon = Tetherd(workdir).start()
    yield daemon
    daemon.stop()
