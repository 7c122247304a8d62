"""The job store: every Execute and Bulk is a job, committed before the caller is answered.

``store``: the records and their reads; ``writer``: the group-commit writer thread;
``schema``: tables, files, statements, durability notes; ``recovery``: jobs cut off by a
crash; ``bulk``: a Bulk in flight and its stream.
"""

from .bulk import BulkRun
from .store import MAX_PAGE_SIZE, ActiveJob, BadPageToken, JobNotFound, JobStore
from .writer import JobStoreError

__all__ = ["MAX_PAGE_SIZE", "ActiveJob", "BadPageToken", "BulkRun", "JobNotFound", "JobStore", "JobStoreError"]
