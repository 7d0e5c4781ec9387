"""Two parts of a large batch's work at once: the model's points and the range's distances.

A plan-aware range measures each plan's distance to the training campaigns (NumPy, which lets
go of the interpreter lock), independent of the model's points (loading the model, then the
trees). On a machine with two cores the two can run side by side. OpenBLAS's own threads would
then compete with both for the cores, so while two parts run, BLAS gets one thread; the limit
is counted, so batches scored at the same time restore the original setting only when the last
one ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

A = TypeVar("A")
B = TypeVar("B")

# Below this many rows the distances take milliseconds: a second thread would only add its cost.
OVERLAP_ROWS = 10_000

_lock = threading.Lock()
_users = 0
_limiter: Any = None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread until the last of the overlapping users leaves."""
    global _users, _limiter
    with _lock:
        if _users == 0:
            from threadpoolctl import threadpool_limits

            _limiter = threadpool_limits(limits=1, user_api="blas")
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                _limiter.restore_original_limits()
                _limiter = None


def side_by_side(main: Callable[[], A], beside: Callable[[], B]) -> tuple[A, B]:
    """``(main(), beside())``, with ``beside`` run in a second thread while ``main`` runs in
    this one. An error in either is raised here, after both have ended."""
    with one_blas_thread(), ThreadPoolExecutor(1, thread_name_prefix="batch-ranges") as pool:
        later = pool.submit(beside)
        first = main()
        return first, later.result()
