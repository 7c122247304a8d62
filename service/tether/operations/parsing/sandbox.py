"""A small pool of parser worker processes with a hard wall-clock limit per call.

Templates and outputs come from requests, and TextFSM and TTP run them through
Python's backtracking ``re``: one crafted regex can spin for minutes, and no
thread can be interrupted. So they run in separate processes (``worker.py``):
spawned as fresh interpreters (never forked from the threaded service), started
lazily on first use, at most ``size`` of them, each limited in address space and
CPU time and given no secrets in its environment. A call that overruns its limit
kills its worker (the next call starts a fresh one) and fails with a clear error.

Callers may be any thread (session threads parse; validation may run anywhere):
each call takes one idle worker for itself, so calls never interleave on a pipe.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .worker import HEADER

SPAWN_SECONDS = 30.0  # a fresh interpreter importing textfsm, ttp and ntc-templates on a loaded machine
_READ_CHUNK = 1 << 20


class WorkerTimeout(TimeoutError):
    """The call ran past its wall-clock limit; its worker was killed."""


class WorkerFailed(RuntimeError):
    """The worker could not be started or died during the call."""


class WorkerStartFailed(WorkerFailed):
    """No worker could be started (the machine's fault, not the template's)."""


class PoolBusy(TimeoutError):
    """Every worker stayed busy for as long as the caller could wait."""


def _worker_env() -> dict[str, str]:
    """No inherited secrets: only what an interpreter and ntc-templates need."""
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    if "NTC_TEMPLATES_DIR" in os.environ:  # an operator's choice of TextFSM templates
        env["NTC_TEMPLATES_DIR"] = os.environ["NTC_TEMPLATES_DIR"]
    return env


class _Worker:
    def __init__(self, address_space: int) -> None:
        package_root = str(Path(__file__).resolve().parents[3])  # the directory holding this `tether`
        bootstrap = f"import sys; sys.path.insert(0, {package_root!r}); from tether.operations.parsing.worker import main; main()"
        # -I: ignore PYTHON* variables and the user's site directory.
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-c", bootstrap, str(address_space)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_worker_env(),
                start_new_session=True,  # a terminal's ^C goes to tetherd, which then closes us
                close_fds=True,
                cwd="/",
            )
        except OSError as exc:
            raise WorkerStartFailed(f"cannot start a parser worker: {exc}") from None
        assert self.process.stdin is not None and self.process.stdout is not None
        self.max_reply = 1 << 16
        self._in = self.process.stdin.fileno()
        self._out = self.process.stdout.fileno()
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        try:
            self._read(time.monotonic() + SPAWN_SECONDS)
        except (WorkerTimeout, WorkerFailed) as exc:
            self.kill()
            raise WorkerStartFailed(f"the parser worker did not start: {exc or 'no answer'}") from None

    @property
    def pid(self) -> int:
        return self.process.pid

    def call(self, request: dict[str, Any], seconds: float, max_reply: int) -> dict[str, Any]:
        self.max_reply = max_reply
        deadline = time.monotonic() + seconds
        body = json.dumps(request).encode()
        self._write(HEADER.pack(len(body)) + body, deadline)
        return self._read(deadline)

    def _write(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            self._wait(self._in, deadline, writable=True)
            try:
                written = os.write(self._in, view[: 1 << 16])
            except BlockingIOError:
                continue
            except OSError as exc:  # EPIPE: it died
                raise WorkerFailed(self._death()) from exc
            view = view[written:]

    def _read(self, deadline: float) -> dict[str, Any]:
        header = self._read_exactly(HEADER.size, deadline)
        (size,) = HEADER.unpack(header)
        if size > self.max_reply:
            raise WorkerFailed(f"the parser worker sent a {size}-byte reply; at most {self.max_reply}")
        reply: dict[str, Any] = json.loads(self._read_exactly(size, deadline))
        return reply

    def _read_exactly(self, size: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        missing = size
        while missing:
            self._wait(self._out, deadline, writable=False)
            try:
                chunk = os.read(self._out, min(missing, _READ_CHUNK))
            except BlockingIOError:
                continue
            if not chunk:
                raise WorkerFailed(self._death())
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def _wait(self, fd: int, deadline: float, writable: bool) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WorkerTimeout()
        ready = select.select([], [fd], [], remaining) if writable else select.select([fd], [], [], remaining)
        if not any(ready):
            raise WorkerTimeout()

    def _death(self) -> str:
        try:
            code = self.process.wait(2)
        except subprocess.TimeoutExpired:
            return "the parser worker stopped answering"
        if code < 0:
            return f"the parser worker was killed by signal {-code} (CPU or memory limit)"
        return f"the parser worker exited with status {code}"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)

    def close(self) -> None:
        """Ask it to exit (EOF on stdin), then make sure it did."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(1)
        self.kill()


class WorkerPool:
    def __init__(self, size: int, address_space: int) -> None:
        self.size = size
        self.address_space = address_space
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._starting = 0
        self._closed = False
        self._changed = threading.Condition()
        self.calls = 0
        self.replaced = 0

    @property
    def pids(self) -> list[int]:
        with self._changed:
            return sorted(worker.pid for worker in self._all)

    def call(self, request: dict[str, Any], seconds: float, wait_seconds: float, max_reply: int) -> dict[str, Any]:
        worker = self._take(wait_seconds)
        try:
            reply = worker.call(request, seconds, max_reply)
        except BaseException:
            self._discard(worker)
            raise
        if reply.get("retire"):
            self._discard(worker)
        else:
            self._give_back(worker)
        return reply

    def _take(self, wait_seconds: float) -> _Worker:
        deadline = time.monotonic() + wait_seconds
        with self._changed:
            while True:
                if self._closed:
                    raise WorkerStartFailed("the parser is shut down")
                if self._idle:
                    self.calls += 1
                    return self._idle.pop()
                if len(self._all) + self._starting < self.size:
                    self._starting += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolBusy(f"all {self.size} parser workers stayed busy for {wait_seconds:g} s")
                self._changed.wait(remaining)
        try:
            worker = _Worker(self.address_space)  # outside the lock: starting takes a while
        finally:
            with self._changed:
                self._starting -= 1
                self._changed.notify()
        with self._changed:
            if self._closed:
                worker.kill()
                raise WorkerStartFailed("the parser is shut down")
            self._all.add(worker)
            self.calls += 1
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._changed:
            if self._closed:
                worker.close()
                return
            self._idle.append(worker)
            self._changed.notify()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._changed:
            self._all.discard(worker)
            self.replaced += 1
            self._changed.notify()

    def close(self) -> None:
        """Stop every worker, idle or busy (a busy call then fails as the worker died)."""
        with self._changed:
            self._closed = True
            idle = list(self._idle)
            busy = [worker for worker in self._all if worker not in idle]
            self._all.clear()
            self._idle.clear()
            self._changed.notify_all()
        for worker in busy:  # its caller's thread owns the pipes: it sees EOF, fails and reaps it
            worker.process.kill()
        for worker in idle:
            worker.close()
