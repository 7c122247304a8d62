"""The service's core: sessions and their pool, jobs, events, and the plugin registry."""
