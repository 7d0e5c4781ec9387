"""One total deadline per endpoint call, retries included, kept by cutting the connection.

A read timeout bounds each wait for bytes, not the call: an endpoint that sends one byte every
2 s never trips a 10 s read timeout and can hold a request for minutes. Here each call runs under
a :class:`Deadline`; the connections of :class:`DeadlineAdapter` report to the deadline of the
thread using them, and one watchdog thread shuts the socket down when the time is up, which ends
any read at once, in the headers or in the body. Retries that could not finish in time are not
started (see ``BudgetRetry`` in :mod:`predictor.serving.endpoint_client`).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_local = threading.local()


class DeadlinePassed(ConnectionError):
    """Raised inside the HTTP stack when a connection is used after its call's deadline."""


class Deadline:
    """The time budget of one endpoint call, in the thread that makes it.

    ``with Deadline(10.0) as call:`` arms it; ``call.expired`` says whether the watchdog cut the
    call; ``call.answered`` whether the current attempt's response headers had arrived by then.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self.answered = False
        self._done = False
        self._conn: HTTPConnection | None = None
        self._lock = threading.Lock()

    def remaining(self) -> float:
        """Seconds left, never below 0."""
        return max(0.0, self.ends - time.monotonic())

    def __enter__(self) -> Deadline:
        _local.deadline = self
        _WATCHDOG.watch(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
            self._conn = None
        _local.deadline = None

    def attach(self, conn: HTTPConnection) -> None:
        """``conn`` now carries this call; it is cut at once if the time is already up."""
        with self._lock:
            self._conn = conn
            expired = self.expired
        if expired:
            _shut(conn)
            raise DeadlinePassed("the call's deadline has passed")

    def connected(self, conn: HTTPConnection) -> None:
        """Called once ``conn`` has its socket: cut it if the deadline passed while connecting."""
        with self._lock:
            expired = self.expired and self._conn is conn
        if expired:
            _shut(conn)

    def expire(self) -> None:
        """Mark the call as out of time and cut its connection (the watchdog calls this)."""
        with self._lock:
            if self._done:
                return
            self.expired = True
            conn = self._conn
        if conn is not None:
            _shut(conn)

    @property
    def done(self) -> bool:
        return self._done


def current() -> Deadline | None:
    """The deadline of the call this thread is making, if any."""
    return getattr(_local, "deadline", None)


def _shut(conn: HTTPConnection) -> None:
    """Shut the socket down: a read blocked on it in another thread returns at once."""
    sock = getattr(conn, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread, started on first use, that expires deadlines as their time comes."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline.ends, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="endpoint-deadlines", daemon=True
                )
                self._thread.start()
            if self._heap[0][2] is deadline:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                deadline = heapq.heappop(self._heap)[2]
            deadline.expire()


_WATCHDOG = _Watchdog()


class _Watched:
    """Connection mixin: each use reports to the calling thread's deadline."""

    def connect(self) -> None:
        deadline = current()
        if deadline is not None:
            deadline.attach(self)  # type: ignore[arg-type]
        super().connect()  # type: ignore[misc]
        if deadline is not None:
            deadline.connected(self)  # type: ignore[arg-type]

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline = current()
        if deadline is not None:
            deadline.answered = False  # a new attempt (a retry) has no answer yet
            deadline.attach(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self) -> Any:
        response = super().getresponse()  # type: ignore[misc]
        deadline = current()
        if deadline is not None:
            deadline.answered = True
        return response


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """``HTTPAdapter`` whose connections (direct or through a proxy) obey :class:`Deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager
