#!/usr/bin/env bash
# The network_cli baseline for bench/bench_playbooks.py: ansible.netcommon, ansible.utils and cisco.ios,
# taken from the community `ansible` package on PyPI (Galaxy is unreachable here), plus the Python
# packages network_cli needs on the controller.
#
#   bench/setup_baseline.sh            # idempotent: a second run only checks
#
# Environment:
#   PYTHON=python3                     the Python that runs ansible-playbook
#   ANSIBLE_COMMUNITY_VERSION=12.3.0   the community package to take the collections from (newest for 3.11)
#   BASELINE_LIBSSH=1                  0: skip ansible-pylibssh (network_cli then falls back to paramiko,
#                                      which ansible-core 2.19 deprecates; --ssh-type paramiko measures it anyway)
#
# Everything lands in build/ (git-ignored):
#   build/baseline-download/ansible-VERSION-py3-none-any.whl   (~54 MB; 211 MB unpacked, none of it installed)
#   build/baseline-collections/ansible_collections/{ansible/netcommon,ansible/utils,cisco/ios}
#   build/baseline-collections/.extracted                       the version extracted, and the collection versions
#   build/baseline-pydeps/                                      ansible-pylibssh (pip --target: nothing installed
#                                                               system-wide; the benchmark puts it on PYTHONPATH)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VERSION="${ANSIBLE_COMMUNITY_VERSION:-12.3.0}"
DOWNLOAD="$ROOT/build/baseline-download"
DEST="$ROOT/build/baseline-collections"
STAMP="$DEST/.extracted"
COLLECTIONS=(ansible/netcommon ansible/utils cisco/ios)

extracted() {
    [[ -f "$STAMP" ]] && head -n1 "$STAMP" | grep -qx "ansible==$VERSION" || return 1
    local c
    for c in "${COLLECTIONS[@]}"; do
        [[ -f "$DEST/ansible_collections/$c/MANIFEST.json" ]] || return 1
    done
}

if extracted; then
    echo "baseline collections: already extracted from ansible==$VERSION in $DEST"
else
    wheel="$DOWNLOAD/ansible-$VERSION-py3-none-any.whl"
    if [[ ! -f "$wheel" ]]; then
        echo "baseline collections: downloading ansible==$VERSION (wheel, ~54 MB, not installed) to $DOWNLOAD"
        mkdir -p "$DOWNLOAD"
        "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: "ansible==$VERSION" -d "$DOWNLOAD"
    fi
    echo "baseline collections: extracting ${COLLECTIONS[*]} from $(basename "$wheel")"
    # Extract into a fresh directory beside DEST, then swap it in: an interrupted run leaves no half tree.
    "$PYTHON" - "$wheel" "$DEST" "$VERSION" "${COLLECTIONS[@]}" <<'EOF'
import json
import shutil
import sys
import zipfile
from pathlib import Path

wheel, dest, version, *collections = sys.argv[1:]
dest_path = Path(dest)
staging = dest_path.with_name(dest_path.name + ".partial")
shutil.rmtree(staging, ignore_errors=True)
prefixes = tuple(f"ansible_collections/{c}/" for c in collections)
with zipfile.ZipFile(wheel) as archive:
    members = [m for m in archive.namelist() if m.startswith(prefixes)]
    if not members:
        sys.exit(f"{wheel} holds none of {', '.join(prefixes)}")
    archive.extractall(staging, members)
lines = [f"ansible=={version}"]
for c in collections:
    manifest = staging / "ansible_collections" / c / "MANIFEST.json"
    if not manifest.is_file():
        sys.exit(f"{wheel} has no {c} collection")
    info = json.loads(manifest.read_text())["collection_info"]
    lines.append(f"{info['namespace']}.{info['name']} {info['version']}")
(staging / ".extracted").write_text("\n".join(lines) + "\n")
shutil.rmtree(dest_path, ignore_errors=True)
staging.rename(dest_path)
print("baseline collections: " + ", ".join(lines[1:]))
EOF
fi

# network_cli needs an SSH library on the controller: ansible-pylibssh (what it picks when present) or
# paramiko (its fallback; ansible-core 2.19 deprecates the paramiko connection it uses). The rest of
# netcommon's requirements.txt (ncclient, jxmlease, grpcio, ...) is for netconf/grpc/httpapi, and ansible.utils'
# (jsonschema, textfsm, ttp, netaddr) for its filters and validators: ios_command needs none of them.
# ansible-pylibssh goes to a private directory, not into the Python everyone on this machine uses: installed
# there, it would switch every other network_cli user here from paramiko to libssh.
if ! "$PYTHON" -c "import paramiko" 2>/dev/null; then
    echo "baseline deps: installing paramiko"
    "$PYTHON" -m pip install --quiet --root-user-action=ignore paramiko
fi
PYDEPS="$ROOT/build/baseline-pydeps"
if [[ "${BASELINE_LIBSSH:-1}" == "1" ]] && ! PYTHONPATH="$PYDEPS" "$PYTHON" -c "import pylibsshext" 2>/dev/null; then
    echo "baseline deps: installing ansible-pylibssh into $PYDEPS"
    rm -rf "$PYDEPS"
    "$PYTHON" -m pip install --quiet --root-user-action=ignore --disable-pip-version-check --only-binary=:all: --target "$PYDEPS" ansible-pylibssh
fi
libssh="absent"
if PYTHONPATH="$PYDEPS" "$PYTHON" -c "import pylibsshext" 2>/dev/null; then
    libssh="$(PYTHONPATH="$PYDEPS" "$PYTHON" -c 'import pylibsshext; print(pylibsshext.__version__)') (in $PYDEPS)"
fi
echo "baseline deps: paramiko $("$PYTHON" -c 'import paramiko; print(paramiko.__version__)'), ansible-pylibssh $libssh"
