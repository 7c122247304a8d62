#!/usr/bin/env bash
# Installs everything Tether's demo, tests and benchmarks need on a fresh Debian 12
# machine with Python 3.11: Debian packages, the tether package, test peers, tools.
# Idempotent and quick when nothing changed (a stamp keyed on the inputs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
stamp_dir=$root/build
mkdir -p "$stamp_dir"
inputs=$(cat scripts/setup.sh requirements-dev.txt service/pyproject.toml | sha256sum | cut -c1-16)
stamp=$stamp_dir/.setup-$inputs
# The editable install must point at this checkout (another clone may have taken it over).
installed_from=$(python3 -c 'import tether, os; print(os.path.dirname(os.path.dirname(tether.__file__)))' 2>/dev/null || true)
if [ -f "$stamp" ] && [ "$installed_from" = "$root/service" ] && command -v tetherd >/dev/null && [ -x /usr/sbin/sshd ]; then
  exit 0
fi

need_apt=()
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  for attempt in 1 2 3; do  # the mirror can fail for a moment; a fresh CI machine must not
    if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null; then
      break
    fi
    [ "$attempt" = 3 ] && { echo "setup: could not install ${need_apt[*]}" >&2; exit 1; }
    sleep $((attempt * 5))
  done
fi

echo "setup: installing Python packages"
python3 -m pip install -q --disable-pip-version-check -e "./service[server]" -r requirements-dev.txt
python3 -m pip install -q --disable-pip-version-check --no-deps fake-switches==1.5.0
echo "setup: vendor collections for the network_cli tests (ansible.netcommon, cisco.ios, arista.eos)"
python3 scripts/vendor_collections.py
rm -f "$stamp_dir"/.setup-*
touch "$stamp"
