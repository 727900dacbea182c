"""The demo's live status: one redrawn line on a terminal, plain periodic lines otherwise.

On a TTY a spinner line (phase, matches in play, bets) is redrawn in place under the story's
lines; when stdout is a file or a pipe (CI logs) the same status is printed as an ordinary
line at each phase change and every few seconds while it changes, so logs stay readable.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from typing import TextIO

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
TTY_REFRESH_SECONDS = 0.12
PLAIN_EVERY_SECONDS = 5.0
CLEAR_LINE = "\r\x1b[2K"


def bar(fraction: float, width: int = 16) -> str:
    filled = max(0, min(width, round(fraction * width)))
    return "[" + "#" * filled + "." * (width - filled) + f"] {fraction * 100:3.0f}%"


class Progress:
    """Writes the story's lines and keeps the status (from `status()`) in view."""

    def __init__(
        self,
        stream: TextIO,
        status: Callable[[], str],
        tty: bool | None = None,
        plain_every: float = PLAIN_EVERY_SECONDS,
    ) -> None:
        self.stream = stream
        self.status = status
        self.tty = stream.isatty() if tty is None else tty
        self.plain_every = plain_every
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._frame = 0
        self._drawn = False
        self._stopped = False
        self._last_plain = ""
        self._last_plain_at = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="demo-progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ends the status display; later lines are written plainly."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        with self._lock:
            self._clear()
            self._stopped = True

    def say(self, line: str) -> None:
        with self._lock:
            self._clear()
            self._write(line + "\n")
            self._draw()

    def update(self) -> None:
        """Shows the status now (a phase changed): redrawn on a TTY, a plain line otherwise."""
        with self._lock:
            if self.tty:
                self._draw()
            else:
                self._plain(force=True)

    # ---- internals ----------------------------------------------------------------------

    def _run(self) -> None:
        period = TTY_REFRESH_SECONDS if self.tty else 0.5
        while not self._stop.wait(period):
            with self._lock:
                if self.tty:
                    self._frame += 1
                    self._draw()
                else:
                    self._plain(force=False)

    def _plain(self, force: bool) -> None:
        text = self._status_text()
        moment = time.monotonic()
        due = moment - self._last_plain_at >= self.plain_every
        if text and (force or (due and text != self._last_plain)):
            self._write(f"  .. {text}\n")
            self._last_plain, self._last_plain_at = text, moment

    def _draw(self) -> None:
        if not self.tty or self._stopped:
            return
        text = self._status_text()
        if not text:
            return
        width = shutil.get_terminal_size((100, 20)).columns
        line = f"{SPINNER[self._frame % len(SPINNER)]} {text}"
        if len(line) > width - 1:
            line = line[: max(0, width - 2)] + "…"
        self._write(CLEAR_LINE + line)
        self._drawn = True

    def _clear(self) -> None:
        if self.tty and self._drawn:
            self._write(CLEAR_LINE)
            self._drawn = False

    def _status_text(self) -> str:
        try:
            return self.status()
        except Exception as exc:  # a status bug must not stop the demo
            return f"(status unavailable: {exc!r})"

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass
