"""The prediction layer: Databricks endpoint first, local bundle as fallback, an interval always."""

from __future__ import annotations

import copy
import logging
import math
import numbers
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictor.contract.feature_matrix import feature_matrix
from predictor.contract.features import FEATURE_COLUMNS
from predictor.contract.notices import Notice, NoticeCode
from predictor.contract.plan import (
    COLUMN_FIELDS,
    CampaignPlan,
    PlanError,
    extrapolation_warnings,
)
from predictor.serving.bundle import (
    DEFAULT_MODEL_DIR,
    BundleError,
    BundleMetadata,
    QuickPoints,
    bundle_ranges,
    load_bundle,
    quick_bundle,
    quick_file,
    verify_bundle,
)
from predictor.serving.endpoint_answers import endpoint_answer, notice_local_range
from predictor.serving.endpoint_client import CircuitBreaker, DatabricksClient
from predictor.serving.endpoint_errors import (
    EndpointError,
    EndpointWarmingError,
    ImplausibleAnswerError,
    InvalidCredentialsError,
)
from predictor.serving.extrapolation import (
    TrainingBounds,
    absurd_rows,
    mix_over_total,
    outside_rows,
    range_notice,
    refuse_absurd,
    score_with_edges,
)
from predictor.serving.fast_points import fast_points, sample_rows
from predictor.serving.model_code.interval import (
    DEFAULT_LEVEL,
    IntervalLevelError,
    Ranges,
    level_key,
    quantile_for,
)
from predictor.serving.overlap import OVERLAP_ROWS, points_and_distance
from predictor.serving.plausibility import PlausibleBand, check_plausible, plausible_band
from predictor.serving.scored import FrameScore, Scored
from predictor.serving.settings import PredictorConfig, Settings, load_config, predictor_config
from predictor.serving.tree_file import TREES_FILE, TreePoints

log = logging.getLogger(__name__)
# One column index for every one-row table (building it per call costs more than the row).
_FEATURE_INDEX = pd.Index(FEATURE_COLUMNS)
_NUM_ADS = FEATURE_COLUMNS.index("num_ads")

NOTICE_NOT_CONFIGURED = Notice(
    NoticeCode.NOT_CONFIGURED, "Local model served (no Databricks endpoint configured)."
)
NOTICE_LOCAL_CHOSEN = Notice(
    NoticeCode.LOCAL_CHOSEN, "Local model served (PREDICTOR_BACKEND=local)."
)
NOTICE_GUARDRAIL = Notice(
    NoticeCode.GUARDRAIL, "No ads in the plan, so no purchases; the model was not called."
)
WARMING_TEXT = "Databricks endpoint warming up; the local model answered."


def notice_credentials_invalid(detail: str = "its credentials are invalid") -> Notice:
    """Notice for an endpoint whose credentials cannot be sent; ``detail`` names the setting."""
    return Notice(
        NoticeCode.CREDENTIALS_INVALID,
        f"Databricks endpoint not called: {detail}; the local model answered.",
    )


def notice_failed(kind: str, error: EndpointError | None = None) -> Notice:
    """Notice for a call that the endpoint failed and the local model answered."""
    if kind == EndpointWarmingError.kind:
        return Notice(NoticeCode.ENDPOINT_WARMING, WARMING_TEXT)
    if kind == InvalidCredentialsError.kind:
        return notice_credentials_invalid()
    if isinstance(error, ImplausibleAnswerError):
        return Notice(
            NoticeCode.ENDPOINT_IMPLAUSIBLE,
            f"Databricks endpoint gave an implausible answer ({error.detail}); "
            "the local model answered.",
        )
    return Notice(
        NoticeCode.ENDPOINT_FAILED,
        f"Databricks endpoint failed ({kind}); the local model answered.",
    )


def notice_paused(kind: str | None) -> Notice:
    """Notice for a call made while the endpoint is cooling down after a failure."""
    if kind == EndpointWarmingError.kind:
        return Notice(NoticeCode.ENDPOINT_WARMING, WARMING_TEXT)
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
    ``model_version``: the version of the bundle this predictor serves (an endpoint serves the
    published copy of it), kept with outcomes so that a later model cannot rewrite history.
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
    model_version: str = ""


class Predictor:
    """Predicts campaign purchases with an interval, from the endpoint or the local bundle.

    Thread-safe: the bundle is verified and loaded once, lazily, under a lock. Only a shipped
    (pinned) bundle is served unless ``config.trust_bundle`` (``PREDICTOR_TRUST_BUNDLE``).
    """

    def __init__(
        self, config: PredictorConfig | None = None, model_dir: str | Path = DEFAULT_MODEL_DIR
    ):
        self.config = config or PredictorConfig()
        self.model_dir = Path(model_dir).resolve()
        self._client: DatabricksClient | None = None
        if self.config.backend != "local" and self.config.has_endpoint:
            self._client = DatabricksClient.from_config(self.config)
        elif self.config.backend != "local" and self.config.invalid_credentials:
            log.warning(
                "Databricks endpoint not used, the local model answers: %s",
                self.config.invalid_credentials,
            )
        self._breaker = CircuitBreaker(self.config.cooldown_seconds)
        self._lock = threading.Lock()
        # Loading the model takes seconds: a lock of its own, so that reading the bundle's plain
        # files (what the first answer needs) never waits on it.
        self._load_lock = threading.Lock()
        self._metadata: BundleMetadata | None = None
        self._ranges: Ranges | None = None
        self._model: Callable[[pd.DataFrame], np.ndarray] | None = None
        # The model's plain numbers (``linear_file``, ``tree_file``), answering without the model.
        self._quick: QuickPoints | None = None
        self._quick_read = False
        self._calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()
        self._training_bounds: tuple[BundleMetadata, TrainingBounds] | None = None

    @classmethod
    def from_env(
        cls,
        model_dir: str | Path = DEFAULT_MODEL_DIR,
        environ: Mapping[str, str] | None = None,
        model: str | None = None,
    ) -> Predictor:
        """Build from environment variables, then ``secrets.toml`` / ``PREDICTOR_SECRETS_FILE``;
        ``model`` picks that model's endpoint from ``DATABRICKS_SERVING_ENDPOINTS``."""
        return cls(load_config(environ, model=model), model_dir=model_dir)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        model_dir: str | Path = DEFAULT_MODEL_DIR,
        model: str | None = None,
    ) -> Predictor:
        """Build from settings already read (see ``predictor.serving.settings.load_settings``)."""
        return cls(predictor_config(settings, model), model_dir=model_dir)

    def __repr__(self) -> str:
        endpoint = self._client.host if self._client else None
        return (
            f"Predictor(backend={self.config.backend!r}, endpoint={endpoint!r}, "
            f"model_dir={str(self.model_dir)!r})"
        )

    # -- bundle ---------------------------------------------------------------------------------

    def _ensure_metadata(self) -> BundleMetadata:
        if self._metadata is None:
            with self._lock:
                if self._metadata is None:
                    self._metadata = verify_bundle(self.model_dir, self.config.trust_bundle)
        return self._metadata

    def _ensure_model(self) -> Callable[[pd.DataFrame], np.ndarray]:
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    bundle = load_bundle(self.model_dir, self.config.trust_bundle)
                    self._metadata = bundle.metadata
                    self._ranges = bundle.ranges
                    bounds = TrainingBounds.from_metadata(bundle.metadata.training_range)
                    self._check_quick(bundle.predict_points, bounds)
                    self._model = fast_points(bundle.predict_points, bounds.low, bounds.high)
        return self._model

    def _check_quick(self, predict: Callable[[Any], np.ndarray], bounds: TrainingBounds) -> None:
        """Stop answering from the plain numbers if they disagree with the model just loaded."""
        quick = self._quick
        if quick is None:
            return
        columns = getattr(getattr(predict, "__self__", None), "feature_names_in_", FEATURE_COLUMNS)
        rows = pd.DataFrame(sample_rows(bounds.low, bounds.high), columns=list(columns))
        if not quick.agrees_with(predict, rows):
            log.error("%s disagrees with the model; the model answers", quick_file(quick))
            self._quick = None

    def _load_quick(self) -> QuickPoints | None:
        """Verify the bundle and read its plain files (metadata, range, the model's numbers)."""
        if self._model is None and not self._quick_read:
            with self._lock:
                if self._model is None and not self._quick_read:
                    quick = quick_bundle(self.model_dir, self.config.trust_bundle)
                    self._ranges = self._ranges or quick.ranges
                    self._metadata = self._metadata or quick.metadata
                    self._quick = quick.points
                    self._quick_read = True
        return self._quick if self._model is None else None

    def _points_model(self) -> Callable[[pd.DataFrame], np.ndarray]:
        """What answers points now: the loaded model, else the model's plain numbers (see
        :meth:`_load_quick`), else the model, loaded now."""
        if self._model is not None:
            return self._model
        quick = self._load_quick()
        if isinstance(quick, TreePoints):
            try:
                quick.build()
            except Exception as exc:  # e.g. a scikit-learn whose trees are stored otherwise
                log.warning("%s is not used (%s); the model answers", TREES_FILE, exc)
                self._quick = quick = None
        return quick if quick is not None and self._model is None else self._ensure_model()

    def _ensure_ranges(self) -> Ranges:
        """The bundle's calibrated range (with its training points), read once."""
        if self._ranges is None:
            with self._lock:
                if self._ranges is None:
                    self._ranges = bundle_ranges(self.model_dir, self.config.trust_bundle)
        return self._ranges

    @property
    def ranges(self) -> Ranges:
        """The bundle's calibrated range: predictions and plans in, whole-number bounds out."""
        return self._ensure_ranges()

    def load(self, quick: bool = False) -> None:
        """Verify and load the bundle, and set up the endpoint's credentials, now instead of on
        first use (e.g. to warm up in background). ``quick`` reads only what answers before the
        model loads (a bundle's plain numbers; the model itself for a bundle without them)."""
        if not (quick and self._load_quick() is not None):
            self._ensure_model()
        if self._client is not None:
            self._client.prepare()

    def is_tree_ensemble(self) -> bool:
        """Whether the local bundle's plain numbers are a tree ensemble's (``trees.json``),
        known without loading its model (see :meth:`_load_quick`)."""
        return isinstance(
            self._quick if self._model is not None else self._load_quick(), TreePoints
        )

    def local_estimator(self) -> Any:
        """The local bundle's fitted scikit-learn model (for explanations), loaded if needed."""
        estimator = getattr(self._ensure_model(), "__self__", None)
        if estimator is None:
            raise BundleError("the local model is not a scikit-learn model, so it has no terms")
        return estimator

    @property
    def metadata(self) -> BundleMetadata:
        """A copy of the bundle's typed metadata record (metrics, training_range, interval...)."""
        return copy.deepcopy(self._ensure_metadata())

    @property
    def levels(self) -> tuple[float, ...]:
        """Interval levels calibrated in the bundle, ascending."""
        return tuple(sorted(float(k) for k in self._ensure_metadata().interval["quantiles"]))

    @property
    def uses_endpoint(self) -> bool:
        """Whether a Databricks endpoint is configured to answer (the local bundle otherwise)."""
        return self._client is not None

    @property
    def call_counts(self) -> dict[str, int]:
        """How many model calls each backend received so far (one per batch)."""
        with self._calls_lock:
            return dict(self._calls)

    # -- scoring --------------------------------------------------------------------------------

    def _count(self, backend: str) -> None:
        with self._calls_lock:
            self._calls[backend] += 1

    def _local_points(self, frame: pd.DataFrame) -> np.ndarray:
        model = self._points_model()
        raw = np.asarray(model(frame), dtype=float).reshape(-1)
        if raw.shape[0] != len(frame) or not np.isfinite(raw).all():
            raise BundleError(
                "the local model returned a wrong number of or non-finite predictions"
            )
        return raw

    def _local(self, frame: pd.DataFrame, level: float) -> Scored:
        self._count("local")
        distance = None
        # A small table reads the range after the points, as the first answer must: the range
        # is then already read with the linear numbers, without waiting on a model's loading.
        if len(frame) >= OVERLAP_ROWS and (ranges := self._ensure_ranges()).plan_aware:
            # Loading the model is interpreter-bound: one thread of distances beside it is the
            # most it leaves room for. Once loaded, the distances take every core.
            loading = self._model is None and self._load_quick() is None
            raw, distance = points_and_distance(
                lambda: self._local_points(frame), ranges, frame, 1 if loading else None
            )
        else:
            raw, ranges = self._local_points(frame), self._ensure_ranges()
        lower, upper = ranges.bounds(raw, frame, level, distance)
        return Scored(raw, lower, upper, "local")

    def _plausible_band(self, frame: pd.DataFrame) -> PlausibleBand:
        """The band an endpoint's answers for ``frame`` must stay in (see ``plausibility``)."""
        points = self._local_points(frame)
        interval = self._ensure_metadata().interval
        widest = max(float(k) for k in interval["quantiles"])
        return plausible_band(points, *self._ensure_ranges().bounds(points, frame, widest))

    def _remote(self, frame: pd.DataFrame, level: float) -> Scored:
        """The endpoint's answer, checked to be plausible; its own range when it sends one,
        else the local calibration's."""
        assert self._client is not None
        self._count("databricks")
        raw, bounds = endpoint_answer(self._client.predict(frame), len(frame), level)
        check_plausible(raw, bounds, self._plausible_band(frame))
        if bounds is None:
            lower, upper = self._ensure_ranges().bounds(raw, frame, level)
            return Scored(raw, lower, upper, "databricks", (notice_local_range(level),))
        return Scored(raw, *bounds, "databricks")

    def _score(self, frame: pd.DataFrame, level: float) -> Scored:
        """Predictions, bounds, backend and notices for ``frame`` (valid features)."""
        if self._client is None:
            return self._local(frame, level).noted(self._local_notice())
        if self.config.backend == "databricks":
            return self._remote(frame, level)
        if not self._breaker.allow():
            return self._local(frame, level).noted(notice_paused(self._breaker.last_failure))
        try:
            scored = self._remote(frame, level)
        except EndpointError as exc:
            self._breaker.record_failure(exc.kind, exc.retry_after)
            log.warning("Databricks endpoint failed (%s): %s; using the local model", exc.kind, exc)
            return self._local(frame, level).noted(notice_failed(exc.kind, exc))
        except BaseException:
            self._breaker.release()
            raise
        self._breaker.record_success()
        return scored

    def _local_notice(self) -> Notice:
        """Why the local model answers when no endpoint client is set up."""
        if self.config.backend == "local":
            return NOTICE_LOCAL_CHOSEN
        if self.config.invalid_credentials:
            return notice_credentials_invalid(self.config.invalid_credentials)
        return NOTICE_NOT_CONFIGURED

    def _check_level(self, level: float) -> float:
        if (
            isinstance(level, bool)
            or not isinstance(level, numbers.Real)
            or not math.isfinite(level)
        ):
            offered = ", ".join(f"{lv:.0%}" for lv in self.levels)
            raise IntervalLevelError(f"interval level must be a number; choose one of {offered}")
        quantile_for(self._ensure_metadata().interval, level)
        return float(level_key(level))

    def _bounds(self) -> TrainingBounds:
        metadata = self._ensure_metadata()
        cached = self._training_bounds
        if cached is None or cached[0] is not metadata:
            cached = (metadata, TrainingBounds.from_metadata(metadata.training_range))
            self._training_bounds = cached
        return cached[1]

    def _frame_result(self, matrix: pd.DataFrame, level: float) -> FrameScore:
        """Raw predictions, bounds and the extrapolated mask for valid rows.

        Rows with no ads get 0 without the model; absurd inputs raise :class:`PlanError`.
        """
        n = len(matrix)
        values = matrix.to_numpy(dtype=float)
        bounds = self._bounds()
        refuse_absurd(values, bounds, matrix.index)
        active = values[:, _NUM_ADS] > 0
        outside = outside_rows(values, bounds) & active

        def score(frame: pd.DataFrame) -> Scored:
            return self._score(frame, level)

        if active.all() and n:
            return FrameScore(score_with_edges(score, matrix, outside, bounds), outside)
        raw = np.zeros(n)
        lower = np.zeros(n, dtype=np.int64)
        upper = np.zeros(n, dtype=np.int64)
        if not active.any():
            return FrameScore(Scored(raw, lower, upper, "guardrail"), outside)
        part = score_with_edges(score, matrix.loc[active], outside[active], bounds)
        raw[active], lower[active], upper[active] = part.raw, part.lower, part.upper
        return FrameScore(Scored(raw, lower, upper, part.backend, part.notices), outside)

    def _range_notice(self, matrix: pd.DataFrame, columns: Sequence[str]) -> tuple[str, ...]:
        return range_notice(matrix, columns, self._ensure_metadata().training_range)

    def predict(self, plan: CampaignPlan, level: float = DEFAULT_LEVEL) -> Prediction:
        """Predict purchases for ``plan`` with a ``level`` interval (0.8, 0.9 or 0.95)."""
        if not isinstance(plan, CampaignPlan):
            raise PlanError("plan", "plan must be a CampaignPlan")
        level = self._check_level(level)
        features = plan.to_features()
        unreliable = bool(plan.oversized_mixes)
        version = self._ensure_metadata().model_version
        if plan.total_ads == 0:
            refuse_absurd(np.array([list(features.values())]), self._bounds())
            notices = (*plan.warnings, NOTICE_GUARDRAIL)
            return Prediction(
                0, 0.0, 0, 0, level, "guardrail", notices, features, False, unreliable, version
            )
        ranges = self._ensure_metadata().training_range
        frame = pd.DataFrame(np.array([list(features.values())]), columns=_FEATURE_INDEX)
        result = self._frame_result(frame, level)
        scored = result.scored
        value = float(scored.raw[0])
        return Prediction(
            purchases=round(max(value, 0.0)),
            raw=value,
            lower=int(scored.lower[0]),
            upper=int(scored.upper[0]),
            level=level,
            backend=scored.backend,
            notices=(*plan.warnings, *extrapolation_warnings(features, ranges), *scored.notices),
            features=features,
            extrapolated=bool(result.outside[0]),
            unreliable=unreliable,
            model_version=version,
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
        answer = self._frame_result(matrix, level)
        scored = answer.scored
        result = pd.DataFrame(
            {
                "prediction": np.maximum(scored.raw, 0.0),
                "lower": scored.lower,
                "upper": scored.upper,
                "extrapolated": answer.outside,
                "unreliable": mix_over_total(matrix.to_numpy(dtype=float)),
            },
            index=matrix.index,
        )
        result.attrs["backend"] = scored.backend
        result.attrs["notices"] = (*self._range_notice(matrix, FEATURE_COLUMNS), *scored.notices)
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
        answer = self._frame_result(matrix, level)
        scored = answer.scored
        result = pd.DataFrame(
            {
                field: [getattr(p, field) for p in plans],
                "prediction": np.maximum(scored.raw, 0.0),
                "lower": scored.lower,
                "upper": scored.upper,
                "extrapolated": answer.outside,
            }
        )
        columns = [c for c, f in COLUMN_FIELDS.items() if f == field]
        if field in ("duration_days", "start_month"):
            columns.append("end_month")
        result.attrs["backend"] = scored.backend
        result.attrs["notices"] = (*self._range_notice(matrix, columns), *scored.notices)
        return result
