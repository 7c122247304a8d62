"""Stand-in for pip's get-pip.py bootstrap script, which ansible-test downloads from a
host that does not resolve here. It bootstraps pip with the standard library's
ensurepip, then pip-installs its arguments (the pinned pip and friends) from PyPI.
tests/ansible/sanity.py copies it to where ansible-test caches the real one."""

import ensurepip
import os
import ssl
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
arguments = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
# ansible-test runs this with a trimmed environment: point pip at the system's CA bundle
# (this machine reaches PyPI through a proxy that the bundled certifi does not trust).
bundle = os.environ.get("SSL_CERT_FILE") or ssl.get_default_verify_paths().cafile
if bundle and os.path.exists(bundle):
    arguments.insert(0, f"--cert={bundle}")
raise SystemExit(subprocess.call([sys.executable, "-m", "pip", "install", *arguments]))
