"""A large batch's two parts at once: the model's points and the range's distances.

A plan-aware range measures each plan's distance to the training campaigns, independent of the
model's points (loading the model, then the trees). Both are NumPy and Cython work that lets go
of the interpreter lock, so they share the cores: the distances in blocks, one per core, while
the points are computed. OpenBLAS's own threads would compete with these for the cores, so
meanwhile BLAS gets one thread; the limit is counted, so batches scored at the same time
restore the original setting only when the last one ends.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from predictor.serving.model_code.interval import Ranges

A = TypeVar("A")

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


def points_and_distance(
    points: Callable[[], A], ranges: Ranges, frame: Any, threads: int | None = None
) -> tuple[A, np.ndarray]:
    """``(points(), ranges.distance(frame))``: ``points`` runs in this thread while the
    distances are measured in blocks in ``threads`` other threads (one per core by default).
    An error in either is raised here, after both have ended."""
    assert ranges.points is not None
    values = ranges.points.values_of(frame)
    threads = threads or os.cpu_count() or 1
    blocks = np.array_split(values, max(1, min(threads, len(values))))
    with one_blas_thread(), ThreadPoolExecutor(len(blocks), thread_name_prefix="distance") as pool:
        later = [pool.submit(ranges.distance, block) for block in blocks]
        first = points()
        return first, np.concatenate([part.result() for part in later])
