# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation of the options that say how to reach tetherd.

Rendered from plugins/module_utils/_options.py by plugins/module_utils/_option_docs.py:
do not edit by hand (tests/ansible/test_option_tables.py fails when they differ).
"""

from __future__ import annotations


class ModuleDocFragment:
    # For modules: the task option, then inventory variables, then environment variables.
    DOCUMENTATION = r"""
options:
  endpoint:
    description:
      - Where tetherd listens, as V(unix:/path/to/socket) or V(host:port) (TCP, which needs TLS and a token).
      - When not set at all, the local embedded service on the private per-user socket
        (C($XDG_RUNTIME_DIR/tether/tetherd.sock), or C(/tmp/tether-$UID/tetherd.sock)), which the plugins start when
        nothing answers there (see O(auto_start)).
      - Set it once for every module of the collection with C(module_defaults) and the action group
        C(group/tether.fleet.all).
      - Falls back to the variable C(ansible_tether_endpoint), then to E(TETHER_ENDPOINT).
    type: str
  token:
    description:
      - Bearer token sent to tetherd (required by a TCP endpoint).
      - Falls back to the variable C(ansible_tether_token), then to E(TETHER_TOKEN).
    type: str
  tls_ca:
    description:
      - CA certificate file (PEM) that verifies tetherd's certificate on a TCP endpoint.
      - E(TETHER_CA) is what the AWX credential type C(extensions/awx/credential_type.yml) injects.
      - Falls back to the variable C(ansible_tether_tls_ca), then to E(TETHER_TLS_CA), then to E(TETHER_CA).
    type: path
  tls_cert:
    description:
      - Client certificate file (PEM), for a tetherd that requires client certificates.
      - Falls back to the variable C(ansible_tether_tls_cert), then to E(TETHER_TLS_CERT).
    type: path
  tls_key:
    description:
      - Private key file (PEM) of O(tls_cert).
      - Falls back to the variable C(ansible_tether_tls_key), then to E(TETHER_TLS_KEY).
    type: path
  tls_server_name:
    description:
      - Name to expect in tetherd's certificate when it differs from the endpoint's host name.
      - Falls back to the variable C(ansible_tether_tls_server_name), then to E(TETHER_TLS_SERVER_NAME).
    type: str
  timeout:
    description:
      - Seconds the service has for the whole operation, queueing behind earlier work on the same device included. The
        call fails with C(DEADLINE_EXCEEDED) past it.
      - Falls back to the variable C(ansible_tether_timeout), then to E(TETHER_TIMEOUT), then to V(300).
    type: float
  auto_start:
    description:
      - Start tetherd in the background when the endpoint is a local V(unix:) socket and nothing answers there, like
        SSH's ControlPersist. Many forks starting it at once start one service.
      - Falls back to the variable C(ansible_tether_auto_start), then to E(TETHER_AUTO_START), then to V(true).
    type: bool
  auto_start_idle:
    description:
      - Seconds a tetherd started by O(auto_start) keeps running with no session and no call before it exits.
      - Falls back to the variable C(ansible_tether_auto_start_idle), then to E(TETHER_AUTO_START_IDLE), then to V(900).
    type: float
requirements:
  - The Python package C(tether) (C(pip install 'tether[server]')) in the Python that runs Ansible on
    the controller. It holds the gRPC client and, for the embedded default, tetherd itself.
notes:
  - The module runs on the controller as an action plugin and talks gRPC to tetherd; nothing runs on the
    device but the commands themselves. The task's connection (C(ansible_connection)) is not used.
"""

    # For connection plugins (tether.fleet.pinned, tether.fleet.network_cli).
    CONNECTION = r"""
options:
  endpoint:
    description:
      - Where tetherd listens, as V(unix:/path/to/socket) or V(host:port) (TCP, which needs TLS and a token).
      - When not set, the local embedded service on the private per-user socket, started on demand (see O(auto_start)).
    type: str
    env:
      - name: TETHER_ENDPOINT
    ini:
      - section: tether
        key: endpoint
    vars:
      - name: ansible_tether_endpoint
  token:
    description:
      - Bearer token sent to tetherd (required by a TCP endpoint).
    type: str
    env:
      - name: TETHER_TOKEN
    vars:
      - name: ansible_tether_token
  tls_ca:
    description:
      - CA certificate file (PEM) that verifies tetherd's certificate on a TCP endpoint.
    type: path
    env:
      - name: TETHER_CA
      - name: TETHER_TLS_CA
    ini:
      - section: tether
        key: tls_ca
    vars:
      - name: ansible_tether_tls_ca
  tls_cert:
    description:
      - Client certificate file (PEM), for a tetherd that requires client certificates.
    type: path
    env:
      - name: TETHER_TLS_CERT
    ini:
      - section: tether
        key: tls_cert
    vars:
      - name: ansible_tether_tls_cert
  tls_key:
    description:
      - Private key file (PEM) of O(tls_cert).
    type: path
    env:
      - name: TETHER_TLS_KEY
    ini:
      - section: tether
        key: tls_key
    vars:
      - name: ansible_tether_tls_key
  tls_server_name:
    description:
      - Name to expect in tetherd's certificate when it differs from the endpoint's host name.
    type: str
    env:
      - name: TETHER_TLS_SERVER_NAME
    ini:
      - section: tether
        key: tls_server_name
    vars:
      - name: ansible_tether_tls_server_name
  operation_timeout:
    description:
      - Seconds the service has for one command, queueing behind earlier work included.
      - The modules call this option O(tether.fleet.cli_command#module:timeout); here C(timeout) would be taken from the
        task's own C(timeout) keyword.
    type: float
    default: 300
    env:
      - name: TETHER_TIMEOUT
    ini:
      - section: tether
        key: timeout
    vars:
      - name: ansible_tether_timeout
  auto_start:
    description:
      - Start tetherd in the background when the endpoint is a local V(unix:) socket and nothing answers there, like
        SSH's ControlPersist. Many forks starting it at once start one service.
    type: bool
    default: true
    env:
      - name: TETHER_AUTO_START
    ini:
      - section: tether
        key: auto_start
    vars:
      - name: ansible_tether_auto_start
  auto_start_idle:
    description:
      - Seconds a tetherd started by O(auto_start) keeps running with no session and no call before it exits.
    type: float
    default: 900
    env:
      - name: TETHER_AUTO_START_IDLE
    ini:
      - section: tether
        key: auto_start_idle
    vars:
      - name: ansible_tether_auto_start_idle
"""
