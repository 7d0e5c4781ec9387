"""Old name of the predictor helpers, kept only for ``bench/`` (outside the tests' scope).

Tests import from ``tests.support``. Delete this module once ``bench/bench_batch.py`` and
``bench/bench_predictor.py`` import from ``tests.support.common`` and ``tests.support.predictor``.
"""

from tests.support.common import MODEL_DIR, REPO, TOKEN
from tests.support.predictor import mlflow_server

__all__ = ["MODEL_DIR", "REPO", "TOKEN", "mlflow_server"]
