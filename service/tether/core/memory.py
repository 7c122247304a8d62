"""Process-wide memory policy for tetherd.

glibc serves a large allocation with mmap until the first such block is freed, then raises
its mmap threshold (up to 32 MiB) and serves later ones from per-thread heaps, which keep
freed space instead of returning it. tetherd allocates output-sized buffers (device
output, job records, stream messages) on many session threads, so under that default its
RSS ends up near its peak of in-flight output and stays there. A fixed threshold hands
every buffer of ``LARGE_BUFFER_BYTES`` or more back to the OS when it is freed.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger("tether.memory")
LARGE_BUFFER_BYTES = 256 * 1024
_M_MMAP_THRESHOLD = -3  # glibc malloc.h


def return_large_buffers_to_os() -> bool:
    """Fix glibc's mmap threshold; False where the C library has no mallopt (not glibc)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(_M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES))
    if not done:
        log.warning("could not set the malloc mmap threshold")
    return done
