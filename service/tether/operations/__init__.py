"""What work is and how it runs: requests validated into specs (off the event loop), operations
run on a session's thread, configuration diffs, and output parsing in sandboxed workers."""
