"""The prediction layer: Databricks endpoint first, local MLflow bundle as fallback, an interval always."""

from __future__ import annotations

import copy
import logging
import math
import numbers
import os
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictor.bundle import BundleError, verify_manifest
from predictor.config import PredictorConfig, load_config
from predictor.features import FEATURE_COLUMNS
from predictor.honesty import (
    TrainingBounds,
    absurd_rows,
    mix_over_total,
    outside_rows,
    range_notice,
    refuse_absurd,
    score_with_edges,
)
from predictor.interval import DEFAULT_LEVEL, IntervalLevelError, level_key, quantile_for
from predictor.matrix import feature_matrix
from predictor.notices import Notice, NoticeCode
from predictor.plan import (
    COLUMN_FIELDS,
    CampaignPlan,
    PlanError,
    extrapolation_warnings,
)
from predictor.remote import CircuitBreaker, DatabricksClient, EndpointError
from predictor.whatif import Curves
from predictor.whatif import curves as _curves

log = logging.getLogger(__name__)

NOTICE_NOT_CONFIGURED = Notice(
    NoticeCode.NOT_CONFIGURED, "Local model served (no Databricks endpoint configured)."
)
NOTICE_LOCAL_CHOSEN = Notice(
    NoticeCode.LOCAL_CHOSEN, "Local model served (PREDICTOR_BACKEND=local)."
)
NOTICE_GUARDRAIL = Notice(
    NoticeCode.GUARDRAIL, "No ads in the plan, so no purchases; the model was not called."
)
_PICKLE_FLAG = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
# Guards the process-wide deserialization flag while a bundle is loaded.
_LOAD_LOCK = threading.Lock()


def notice_failed(kind: str) -> Notice:
    """Notice for a call that the endpoint failed and the local model answered."""
    return Notice(
        NoticeCode.ENDPOINT_FAILED,
        f"Databricks endpoint failed ({kind}); the local model answered.",
    )


def notice_paused(kind: str | None) -> Notice:
    """Notice for a call made while the endpoint is cooling down after a failure."""
    return Notice(
        NoticeCode.ENDPOINT_PAUSED,
        f"Databricks endpoint paused after a recent failure ({kind or 'error'}); "
        "the local model answered.",
    )


@dataclass(frozen=True)
class Prediction:
    """One answer: whole-number purchases with a range at ``level``, and where it came from.

    ``extrapolated``: an input lies outside the training data (the range is widened to match).
    ``unreliable``: a mix adds up to more ads than the total (see ``CampaignPlan.oversized_mixes``).
    """

    purchases: int
    raw: float
    lower: int
    upper: int
    level: float
    backend: str
    notices: tuple[str, ...]
    features: dict[str, float]
    extrapolated: bool = False
    unreliable: bool = False


class Predictor:
    """Predicts campaign purchases with an interval, from the endpoint or the local bundle.

    Thread-safe: the bundle is verified and loaded once, lazily, under a lock.
    """

    def __init__(self, config: PredictorConfig | None = None, model_dir: str | Path = "model"):
        self.config = config or PredictorConfig()
        self.model_dir = Path(model_dir).resolve()
        self._client: DatabricksClient | None = None
        if self.config.backend != "local" and self.config.has_endpoint:
            self._client = DatabricksClient(
                self.config.endpoint_url, self.config.token, timeout=self.config.timeout
            )
        self._breaker = CircuitBreaker(self.config.cooldown_seconds)
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._model: Any = None  # the loaded model's predict function
        self._calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()

    @classmethod
    def from_env(
        cls, model_dir: str | Path = "model", environ: Mapping[str, str] | None = None
    ) -> Predictor:
        """Build from environment variables, then ``secrets.toml`` / ``PREDICTOR_SECRETS_FILE``."""
        return cls(load_config(environ), model_dir=model_dir)

    def __repr__(self) -> str:
        endpoint = self._client.host if self._client else None
        return (
            f"Predictor(backend={self.config.backend!r}, endpoint={endpoint!r}, "
            f"model_dir={str(self.model_dir)!r})"
        )

    # -- bundle ---------------------------------------------------------------------------------

    def _read_metadata(self) -> dict[str, Any]:
        from mlflow.models import Model

        verify_manifest(self.model_dir)
        try:
            metadata = Model.load(str(self.model_dir / "MLmodel")).metadata or {}
        except Exception as exc:
            raise BundleError(f"MLmodel in {self.model_dir} cannot be read ({exc})") from None
        if list(metadata.get("features") or []) != FEATURE_COLUMNS:
            raise BundleError(
                "the bundle's model was trained on different features than FEATURE_COLUMNS; "
                "retrain it or use a matching predictor version"
            )
        interval = metadata.get("interval")
        if not isinstance(interval, dict) or not {"scale", "quantiles"} <= interval.keys():
            raise BundleError("the bundle's MLmodel metadata has no interval calibration")
        return metadata

    def _ensure_metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            with self._lock:
                if self._metadata is None:
                    self._metadata = self._read_metadata()
        return self._metadata

    def _ensure_model(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._metadata = self._read_metadata()
                    self._model = self._load_model()
        return self._model

    def _load_model(self) -> Any:
        import mlflow.pyfunc

        with _LOAD_LOCK:
            previous = os.environ.get(_PICKLE_FLAG)
            # Only a bundle whose manifest just verified is deserialized.
            os.environ[_PICKLE_FLAG] = "true"
            try:
                model = mlflow.pyfunc.load_model(str(self.model_dir))
            except Exception as exc:
                raise BundleError(
                    f"the model in {self.model_dir} cannot be loaded ({type(exc).__name__}: "
                    f"{str(exc)[:200]})"
                ) from exc
            finally:
                if previous is None:
                    os.environ.pop(_PICKLE_FLAG, None)
                else:
                    os.environ[_PICKLE_FLAG] = previous
        # The sklearn pipeline itself skips pyfunc's per-call schema conversion; the input is
        # already validated to the signature's 19 double columns by feature_matrix.
        if "sklearn" in (model.metadata.flavors or {}):
            try:
                return model.get_raw_model().predict
            except (NotImplementedError, AttributeError):
                pass
        return model.predict

    def load(self) -> None:
        """Verify and load the bundle now instead of on first use (e.g. to warm up in background)."""
        self._ensure_model()

    def local_estimator(self) -> Any:
        """The local bundle's fitted scikit-learn model (for explanations), loaded if needed."""
        estimator = getattr(self._ensure_model(), "__self__", None)
        if estimator is None:
            raise BundleError("the local model is not a scikit-learn model, so it has no terms")
        return estimator

    @property
    def metadata(self) -> dict[str, Any]:
        """A copy of the bundle's metadata (metrics, training_range, model_version, interval...)."""
        return copy.deepcopy(self._ensure_metadata())

    @property
    def levels(self) -> tuple[float, ...]:
        """Interval levels calibrated in the bundle, ascending."""
        return tuple(sorted(float(k) for k in self._ensure_metadata()["interval"]["quantiles"]))

    @property
    def call_counts(self) -> dict[str, int]:
        """How many model calls each backend received so far (one per batch)."""
        with self._calls_lock:
            return dict(self._calls)

    # -- scoring --------------------------------------------------------------------------------

    def _count(self, backend: str) -> None:
        with self._calls_lock:
            self._calls[backend] += 1

    def _local(self, frame: pd.DataFrame) -> np.ndarray:
        model = self._ensure_model()
        self._count("local")
        raw = np.asarray(model(frame), dtype=float).reshape(-1)
        if raw.shape[0] != len(frame) or not np.isfinite(raw).all():
            raise BundleError(
                "the local model returned a wrong number of or non-finite predictions"
            )
        return raw

    def _score(self, frame: pd.DataFrame) -> tuple[np.ndarray, str, tuple[str, ...]]:
        """Raw predictions for ``frame`` (valid features), the backend that served, and notices."""
        if self._client is None:
            notice = (
                NOTICE_LOCAL_CHOSEN if self.config.backend == "local" else NOTICE_NOT_CONFIGURED
            )
            return self._local(frame), "local", (notice,)
        if self.config.backend == "databricks":
            self._count("databricks")
            return self._client.predict(frame), "databricks", ()
        if not self._breaker.allow():
            return self._local(frame), "local", (notice_paused(self._breaker.last_failure),)
        try:
            self._count("databricks")
            raw = self._client.predict(frame)
        except EndpointError as exc:
            self._breaker.record_failure(exc.kind)
            log.warning("Databricks endpoint failed (%s): %s; using the local model", exc.kind, exc)
            return self._local(frame), "local", (notice_failed(exc.kind),)
        self._breaker.record_success()
        return raw, "databricks", ()

    def _check_level(self, level: float) -> float:
        if (
            isinstance(level, bool)
            or not isinstance(level, numbers.Real)
            or not math.isfinite(level)
        ):
            offered = ", ".join(f"{lv:.0%}" for lv in self.levels)
            raise IntervalLevelError(f"interval level must be a number; choose one of {offered}")
        quantile_for(self._ensure_metadata()["interval"], level)
        return float(level_key(level))

    def _bounds(self) -> TrainingBounds:
        return TrainingBounds.from_metadata(self._ensure_metadata().get("training_range"))

    def _frame_result(
        self, matrix: pd.DataFrame, level: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, tuple[str, ...], np.ndarray]:
        """Raw predictions, bounds and the extrapolated mask for valid rows.

        Rows with no ads get 0 without the model; absurd inputs raise :class:`PlanError`.
        """
        n = len(matrix)
        values = matrix.to_numpy(dtype=float)
        bounds = self._bounds()
        refuse_absurd(values, bounds, matrix.index)
        active = matrix["num_ads"].to_numpy() > 0
        outside = outside_rows(values, bounds) & active
        raw = np.zeros(n)
        lower = np.zeros(n, dtype=np.int64)
        upper = np.zeros(n, dtype=np.int64)
        backend, notices = "guardrail", ()
        interval = self._ensure_metadata()["interval"]
        if active.all() and n:
            scored = score_with_edges(self._score, matrix, outside, bounds, interval, level)
            return (*scored, outside)
        if active.any():
            rows, out = matrix.loc[active], outside[active]
            scored, low, high, backend, notices = score_with_edges(
                self._score, rows, out, bounds, interval, level
            )
            raw[active], lower[active], upper[active] = scored, low, high
        return raw, lower, upper, backend, notices, outside

    def _range_notice(self, matrix: pd.DataFrame, columns: Sequence[str]) -> tuple[str, ...]:
        return range_notice(matrix, columns, self._ensure_metadata().get("training_range"))

    def predict(self, plan: CampaignPlan, level: float = DEFAULT_LEVEL) -> Prediction:
        """Predict purchases for ``plan`` with a ``level`` interval (0.8, 0.9 or 0.95)."""
        if not isinstance(plan, CampaignPlan):
            raise PlanError("plan", "plan must be a CampaignPlan")
        level = self._check_level(level)
        features = plan.to_features()
        unreliable = bool(plan.oversized_mixes)
        if plan.total_ads == 0:
            refuse_absurd(np.array([list(features.values())]), self._bounds())
            notices = (*plan.warnings, NOTICE_GUARDRAIL)
            return Prediction(
                0, 0.0, 0, 0, level, "guardrail", notices, features, False, unreliable
            )
        ranges = self._ensure_metadata().get("training_range") or {}
        frame = pd.DataFrame([features], columns=FEATURE_COLUMNS, dtype=float)
        raw, lower, upper, backend, notices, outside = self._frame_result(frame, level)
        value = float(raw[0])
        return Prediction(
            purchases=round(max(value, 0.0)),
            raw=value,
            lower=int(lower[0]),
            upper=int(upper[0]),
            level=level,
            backend=backend,
            notices=(*plan.warnings, *extrapolation_warnings(features, ranges), *notices),
            features=features,
            extrapolated=bool(outside[0]),
            unreliable=unreliable,
        )

    def predict_frame(self, features: pd.DataFrame, level: float = DEFAULT_LEVEL) -> pd.DataFrame:
        """Score rows of the 19 ``FEATURE_COLUMNS`` in one model call.

        Returns ``prediction`` (expected purchases, a float >= 0), ``lower`` and ``upper`` (whole
        numbers), and the flags ``extrapolated`` and ``unreliable`` (see :class:`Prediction`), on
        the input's index. Rows with ``num_ads == 0`` get 0 without the model. A row with an
        input over 100 times the training maximum raises :class:`PlanError`.
        ``attrs["backend"]`` says which backend served and ``attrs["notices"]`` holds notices.
        """
        level = self._check_level(level)
        matrix = feature_matrix(features)
        raw, lower, upper, backend, notices, outside = self._frame_result(matrix, level)
        result = pd.DataFrame(
            {
                "prediction": np.maximum(raw, 0.0),
                "lower": lower,
                "upper": upper,
                "extrapolated": outside,
                "unreliable": mix_over_total(matrix.to_numpy(dtype=float)),
            },
            index=matrix.index,
        )
        result.attrs["backend"] = backend
        result.attrs["notices"] = (*self._range_notice(matrix, FEATURE_COLUMNS), *notices)
        return result

    def what_if(
        self, plan: CampaignPlan, field: str, values: Sequence[float], level: float = DEFAULT_LEVEL
    ) -> pd.DataFrame:
        """Predictions for ``plan`` with ``field`` set to each of ``values``, in one model call.

        Count fields are rounded to whole numbers; values that make an invalid plan, or an input
        over 100 times the training maximum, are skipped. Returns the columns ``<field>``,
        ``prediction``, ``lower``, ``upper``, ``extrapolated``, with ``attrs`` as
        :meth:`predict_frame`.
        """
        if not isinstance(plan, CampaignPlan):
            raise PlanError("plan", "plan must be a CampaignPlan")
        if field not in {f.name for f in fields(CampaignPlan)}:
            raise PlanError(
                field, f"{field} is not a plan field; choose one of the CampaignPlan fields"
            )
        level = self._check_level(level)
        whole = field != "total_budget"
        plans = []
        for value in values:
            if (
                whole
                and isinstance(value, numbers.Real)
                and not isinstance(value, bool)
                and math.isfinite(value)
            ):
                value = round(float(value))
            try:
                plans.append(plan.replace(**{field: value}))
            except PlanError:
                continue
        matrix = pd.DataFrame(
            [p.to_features() for p in plans], columns=FEATURE_COLUMNS, dtype=float
        )
        keep = ~absurd_rows(matrix.to_numpy(), self._bounds())
        if not keep.all():
            plans = [p for p, k in zip(plans, keep, strict=True) if k]
            matrix = matrix.loc[keep].reset_index(drop=True)
        raw, lower, upper, backend, notices, outside = self._frame_result(matrix, level)
        result = pd.DataFrame(
            {
                field: [getattr(p, field) for p in plans],
                "prediction": np.maximum(raw, 0.0),
                "lower": lower,
                "upper": upper,
                "extrapolated": outside,
            }
        )
        columns = [c for c, f in COLUMN_FIELDS.items() if f == field]
        if field in ("duration_days", "start_month"):
            columns.append("end_month")
        result.attrs["backend"] = backend
        result.attrs["notices"] = (*self._range_notice(matrix, columns), *notices)
        return result

    def curves(self, plan: CampaignPlan, level: float = DEFAULT_LEVEL) -> Curves:
        """What-if curves of ``plan`` against the budget and the number of ads, one call each."""
        return _curves(self, plan, level)
