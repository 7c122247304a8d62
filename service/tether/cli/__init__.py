"""Command-line entry points: ``tetherd`` (the service) and ``tether`` (a client)."""
