"""The committed tether.v1 stubs are exactly what proto/generate.sh produces from the .proto."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_stubs_match_the_proto(tmp_path: Path) -> None:
    subprocess.run([str(ROOT / "proto" / "generate.sh"), str(tmp_path)], check=True, capture_output=True, timeout=240)
    committed = ROOT / "service" / "tether" / "v1"
    generated = sorted(p.relative_to(tmp_path / "tether" / "v1") for p in (tmp_path / "tether" / "v1").iterdir())
    assert [str(p) for p in generated] == sorted(
        p.name
        for p in committed.iterdir()
        if p.name not in ("__init__.py", "messages.py") and p.suffix in (".py", ".pyi")
    )
    for name in generated:
        assert (tmp_path / "tether" / "v1" / name).read_text() == (committed / name).read_text(), (
            f"{name} is stale: run make proto"
        )
