#!/usr/bin/env python3
"""The vendor collections the network_cli tests and benchmark compare against (and awx.awx, for the
AWX credential type playbook), taken from the community ``ansible`` package on PyPI (Galaxy is
unreachable here): the wheel is downloaded once to build/baseline-download/ and only the collections
needed are extracted to build/vendor-collections/ (git-ignored; nothing is installed). Idempotent;
prints the path.

    python3 scripts/vendor_collections.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSION = "12.3.0"  # the newest community package for Python 3.11
COLLECTIONS = ("ansible/netcommon", "ansible/utils", "cisco/ios", "arista/eos", "awx/awx")
DOWNLOAD = ROOT / "build" / "baseline-download"
DEST = ROOT / "build" / "vendor-collections"


def extracted() -> bool:
    stamp = DEST / ".extracted"
    return (
        stamp.is_file()
        and stamp.read_text().splitlines()[:1] == [f"ansible=={VERSION}"]
        and all((DEST / "ansible_collections" / c / "MANIFEST.json").is_file() for c in COLLECTIONS)
    )


def ensure() -> Path:
    if extracted():
        return DEST
    wheel = DOWNLOAD / f"ansible-{VERSION}-py3-none-any.whl"
    if not wheel.is_file():
        DOWNLOAD.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", f"ansible=={VERSION}", "-d", str(DOWNLOAD)],
            check=True,
        )  # fmt: skip
    staging = DEST.with_name(DEST.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    prefixes = tuple(f"ansible_collections/{c}/" for c in COLLECTIONS)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(staging, [m for m in archive.namelist() if m.startswith(prefixes)])
    lines = [f"ansible=={VERSION}"]
    for c in COLLECTIONS:
        info = json.loads((staging / "ansible_collections" / c / "MANIFEST.json").read_text())["collection_info"]
        lines.append(f"{info['namespace']}.{info['name']} {info['version']}")
    (staging / ".extracted").write_text("\n".join(lines) + "\n")
    shutil.rmtree(DEST, ignore_errors=True)
    staging.rename(DEST)
    return DEST


if __name__ == "__main__":
    print(ensure())
