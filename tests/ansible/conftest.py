from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ansible.runner import Ansible, collections_dir


@pytest.fixture(scope="session")
def collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return collections_dir(tmp_path_factory.mktemp("collections"))


@pytest.fixture
def ansible(tmp_path: Path, collections: Path) -> Iterator[Ansible]:
    runner = Ansible(tmp_path, collections)
    yield runner
    runner.stop_service()
