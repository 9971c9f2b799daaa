"""Stopping on SIGTERM and SIGINT at a safe moment: after the step in flight, with a checkpoint.

Cluster schedulers send SIGTERM some seconds before they kill a job, and Ctrl-C sends SIGINT. Inside
:class:`GracefulStop` neither interrupts the step: the handler only records the signal, the training
loop checks :attr:`GracefulStop.requested` after each optimizer step, writes a checkpoint there and
ends with :class:`~deepzoo.errors.Interrupted` (exit status 128 + the signal's number, as a shell
reports a process killed by it: 143 for SIGTERM, 130 for SIGINT). The first signal also restores
the previous handlers, so a second one stops the process at once.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class GracefulStop:
    """A context in which SIGTERM and SIGINT request a stop instead of interrupting (main thread only;
    elsewhere, as in a tuning worker's thread, signals keep their usual effect)."""

    def __init__(self, echo=None):
        self.echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
        self.signum: int | None = None
        self.previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    @property
    def exit_status(self) -> int:
        return 128 + int(self.signum or 0)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum
        self._restore()
        self.echo(f"{signal.Signals(signum).name}: finishing the step in flight, then saving a checkpoint "
                  "(send it again to stop at once)")

    def _restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()
