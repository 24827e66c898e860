"""Decoding of uploads in worker threads, with a timeout and a cap on running decodes.

Threads, not processes: the decoders (Pillow, PDFium, zxing-cpp, zbar) spend most
of their time in C code that releases the GIL. Two threads decoded 300 dpi scans
about 1.5 times as fast as one on the 2-core development machine, and one decode
takes 20 to 60 ms, less than starting a process or copying a page to one.

A Python thread cannot be interrupted, though. When the timeout passes, the
request gets its error response at once and the thread is abandoned: it runs until
the decoder returns, and `ScanLimits` bound that work (pixels, pages, six attempts
per page). An abandoned thread keeps its slot until it finishes. A flood of
hostile images therefore fills the slots and the queue behind them, and further
uploads get 503 instead of starting more threads. The event loop never waits for
a decode, so the worker goes on serving other requests.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

__all__ = ["DecodeBusy", "DecodePool", "DecodeTimeout"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class DecodeTimeout(Exception):
    """The decode did not finish within the timeout."""


class DecodeBusy(Exception):
    """Every decode slot of this worker is taken."""


class _Claim:
    """Decides once whether a queued job runs, or was given up before it started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: str | None = None

    def take(self, owner: str) -> bool:
        with self._lock:
            if self._owner is None:
                self._owner = owner
            return self._owner == owner


class DecodePool:
    """A cap of `slots` concurrent decodes, each given up after `timeout` seconds.

    A request that finds every slot taken waits up to `timeout` seconds for one,
    behind at most `max_waiting` others, and past either limit raises DecodeBusy.
    The kernel spreads connections unevenly over uvicorn's workers, so this short
    wait turns a brief overload of one worker into a delay instead of a 503.
    """

    def __init__(
        self, slots: int, timeout: float, max_waiting: int | None = None
    ) -> None:
        if slots < 1 or timeout <= 0:
            raise ValueError("a decode pool needs at least 1 slot and a timeout > 0")
        self.slots = slots
        self.timeout = timeout
        # Each waiting request keeps its upload in memory, up to the upload limit.
        self.max_waiting = 4 * slots if max_waiting is None else max_waiting
        self._semaphore: anyio.Semaphore | None = None
        self._waiting = 0
        self._running = 0
        self._count_lock = threading.Lock()
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def running(self) -> int:
        """Decodes in progress, including abandoned ones."""
        return self._running

    async def run(self, function: Callable[[], T]) -> T:
        """Run `function` in a thread, raising DecodeBusy or DecodeTimeout."""
        semaphore = await self._acquire()
        token = anyio.lowlevel.current_token()
        claim = _Claim()

        def job() -> T:
            if not claim.take("thread"):
                # The request gave up before this thread started, so skip the work.
                raise DecodeTimeout
            self._count(+1)
            try:
                return function()
            finally:
                self._count(-1)
                _release_from_thread(semaphore, token)

        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.slots)
        try:
            with anyio.fail_after(self.timeout):
                return await anyio.to_thread.run_sync(
                    job, abandon_on_cancel=True, limiter=self._limiter
                )
        except TimeoutError:
            logger.warning("decode abandoned after %.3f s", self.timeout)
            raise DecodeTimeout from None
        finally:
            if claim.take("request"):
                # The job never started, so its slot is released here.
                semaphore.release()

    async def _acquire(self) -> anyio.Semaphore:
        if self._semaphore is None:
            self._semaphore = anyio.Semaphore(self.slots, max_value=self.slots)
        semaphore = self._semaphore
        if semaphore.value == 0 and self._waiting >= self.max_waiting:
            raise DecodeBusy
        self._waiting += 1
        try:
            with anyio.move_on_after(self.timeout):
                await semaphore.acquire()
                return semaphore
        finally:
            self._waiting -= 1
        raise DecodeBusy

    def _count(self, change: int) -> None:
        with self._count_lock:
            self._running += change


def _release_from_thread(
    semaphore: anyio.Semaphore, token: anyio.lowlevel.EventLoopToken
) -> None:
    try:
        anyio.from_thread.run_sync(semaphore.release, token=token)
    except RuntimeError:
        # The event loop has stopped because the worker is shutting down, so no
        # request waits for this slot.
        logger.debug("decode finished after its event loop stopped")
