"""Progress of an export on stderr: a bar with ETA on a terminal, a line a second in a log, or JSON lines."""

from __future__ import annotations

import json
import sys
import time


class Progress:
    """A progress bar with ETA on stderr.

    On a terminal it redraws one line; otherwise (logs, a parent process) it prints a line for the first frame,
    then at most one a second, and the last. ``fmt="json"`` prints one JSON object a line for machines.
    """

    def __init__(self, total: int, *, stream=None, fmt: str = "auto", label: str = "export", min_interval=1.0):
        self.total = int(total)
        self.stream = stream if stream is not None else sys.stderr
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.fmt = ("bar" if tty else "lines") if fmt == "auto" else fmt
        self.label = label
        self.min_interval = min_interval if self.fmt != "bar" else 0.1
        self.t0 = time.perf_counter()
        self._last = -1e9
        self.done = 0

    def eta_s(self) -> float | None:
        el = time.perf_counter() - self.t0
        return el / self.done * (self.total - self.done) if self.done else None

    def update(self, done: int, *, force: bool = False) -> None:
        self.done = done
        now = time.perf_counter()
        if self.fmt == "none":
            return
        if not force and done not in (1, self.total) and now - self._last < self.min_interval:
            return
        self._last = now
        el = now - self.t0
        fps = done / el if el > 0 else 0.0
        eta = self.eta_s()
        if self.fmt == "json":
            line = json.dumps(
                {
                    "done": done,
                    "total": self.total,
                    "fps": round(fps, 2),
                    "eta_s": None if eta is None else round(eta, 1),
                    "elapsed_s": round(el, 1),
                }
            )
            self.stream.write(line + "\n")
        else:
            width = 28
            fill = int(width * done / max(1, self.total))
            bar = "#" * fill + "." * (width - fill)
            text = (
                f"{self.label} [{bar}] {done}/{self.total} frames {100 * done / max(1, self.total):3.0f}% "
                f"{fps:5.1f} fps ETA {_hms(eta)}"
            )
            self.stream.write(("\r" + text) if self.fmt == "bar" else (text + "\n"))
            if self.fmt == "bar" and done >= self.total:
                self.stream.write("\n")
        self.stream.flush()


def _hms(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"
