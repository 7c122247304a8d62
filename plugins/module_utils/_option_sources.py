# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The option tables' names, sources and defaults, for the connection plugins' hot path.

Rendered from plugins/module_utils/_options.py by plugins/module_utils/_option_docs.py:
do not edit by hand (tests/ansible/test_option_tables.py fails when they differ).
"""

from __future__ import annotations

from typing import Any

SERVICE_CONNECTION_NAMES: dict[str, str] = {
    "endpoint": "endpoint",
    "token": "token",
    "tls_ca": "tls_ca",
    "tls_cert": "tls_cert",
    "tls_key": "tls_key",
    "tls_server_name": "tls_server_name",
    "timeout": "operation_timeout",
    "auto_start": "auto_start",
    "auto_start_idle": "auto_start_idle",
}
SERVICE_VARIABLES: dict[str, tuple[str, ...]] = {
    "endpoint": ("ansible_tether_endpoint",),
    "token": ("ansible_tether_token",),
    "tls_ca": ("ansible_tether_tls_ca",),
    "tls_cert": ("ansible_tether_tls_cert",),
    "tls_key": ("ansible_tether_tls_key",),
    "tls_server_name": ("ansible_tether_tls_server_name",),
    "timeout": ("ansible_tether_timeout",),
    "auto_start": ("ansible_tether_auto_start",),
    "auto_start_idle": ("ansible_tether_auto_start_idle",),
}
SERVICE_ENV: dict[str, tuple[str, ...]] = {
    "endpoint": ("TETHER_ENDPOINT",),
    "token": ("TETHER_TOKEN",),
    "tls_ca": ("TETHER_TLS_CA", "TETHER_CA"),
    "tls_cert": ("TETHER_TLS_CERT",),
    "tls_key": ("TETHER_TLS_KEY",),
    "tls_server_name": ("TETHER_TLS_SERVER_NAME",),
    "timeout": ("TETHER_TIMEOUT",),
    "auto_start": ("TETHER_AUTO_START",),
    "auto_start_idle": ("TETHER_AUTO_START_IDLE",),
}
SERVICE_DEFAULTS: dict[str, Any] = {
    "timeout": 300.0,
    "auto_start": True,
    "auto_start_idle": 900.0,
}
TARGET_CONNECTION_NAMES: dict[str, str] = {
    "host": "host",
    "port": "port",
    "username": "remote_user",
    "password": "password",
    "private_key_file": "private_key_file",
    "enable_password": "enable_password",
    "network_os": "network_os",
    "platform": "platform",
    "driver": "driver",
    "driver_options": "driver_options",
    "connect_timeout": "connect_timeout",
    "read_timeout": "read_timeout",
    "keepalive": "keepalive",
    "pinned": "pinned",
}
TARGET_VARIABLES: dict[str, tuple[str, ...]] = {
    "host": ("ansible_host", "ansible_ssh_host"),
    "port": ("ansible_port", "ansible_ssh_port"),
    "username": ("ansible_user", "ansible_ssh_user"),
    "password": ("ansible_password", "ansible_ssh_pass", "ansible_ssh_password"),
    "private_key_file": ("ansible_ssh_private_key_file", "ansible_private_key_file"),
    "enable_password": ("ansible_become_password", "ansible_become_pass"),
    "network_os": ("ansible_network_os",),
    "platform": ("ansible_tether_platform",),
    "driver": ("ansible_tether_driver",),
    "driver_options": ("ansible_tether_driver_options",),
    "connect_timeout": ("ansible_tether_connect_timeout", "ansible_connect_timeout"),
    "read_timeout": ("ansible_tether_read_timeout", "ansible_command_timeout"),
    "keepalive": ("ansible_tether_keepalive",),
    "pinned": ("ansible_tether_pinned",),
}
TARGET_ENV: dict[str, tuple[str, ...]] = {}
TARGET_DEFAULTS: dict[str, Any] = {
    "driver": "netmiko",
    "pinned": True,
}
