"""The wall-clock limit and the stop request of a running container."""

from __future__ import annotations

import threading
import time
from typing import Callable

from docker.errors import APIError, NotFound


class Watchdog:
    """Kills the container at the wall-clock limit or when asked to stop."""

    def __init__(self, container, timeout_s: float, should_stop: Callable[[], bool]) -> None:
        self._container = container
        self._deadline = time.monotonic() + timeout_s
        self._should_stop = should_stop
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self.timed_out = False

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._done.set()

    def _stop_requested(self) -> bool:
        try:
            return bool(self._should_stop())
        except Exception:  # a broken check must not leave the agent running unwatched
            return True

    def _watch(self) -> None:
        while not self._done.wait(0.5):
            if time.monotonic() >= self._deadline:
                self.timed_out = True
            elif not self._stop_requested():
                continue
            _kill(self._container)
            return


def _kill(container) -> None:
    try:
        container.kill()
    except (APIError, NotFound):
        pass
