"""What every peer process object shares: its process, its log, whether it runs."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from pathlib import Path
from typing import Self

STOP_TIMEOUT = 5.0


class PeerProcess:
    """Mixin for a dataclass with ``process``, a ``log_path`` property and ``stop()``."""

    process: subprocess.Popen[bytes] | None

    @property
    def log_path(self) -> Path:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        raise NotImplementedError

    def _signal_and_wait(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the process and wait, bounded; SIGKILL it if that was not enough."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait(timeout=STOP_TIMEOUT)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
