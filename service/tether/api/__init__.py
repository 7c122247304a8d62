"""tetherd's gRPC layer: the status table, interceptors, one servicer per API domain, the server.

Kept thin: validation, execution, sessions and jobs live in the core modules; this
package maps calls onto them and every failure onto one status table (:mod:`.status`).
Importing it imports nothing else, so core modules may use :mod:`.status`.
"""
