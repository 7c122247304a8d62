"""Drivers: the contract (contract.py), the registry that finds them (registry.py),
and one module per built-in driver."""
