"""Tether: an execution service keeping pinned, warm sessions to network devices."""

__version__ = "0.1.0"
