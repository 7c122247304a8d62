"""The service's core: pinned sessions and their pool, the executor, the job store, the event bus,
channel leases, and the plugin registry."""
