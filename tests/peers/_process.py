"""What every peer process object shares: its process, its log, whether it runs."""

from __future__ import annotations

import subprocess
from pathlib import Path


class PeerProcess:
    """Mixin for a dataclass with ``process`` and a ``log_path`` property."""

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
