"""One prediction layer for campaign purchases: Databricks endpoint first, local bundle as fallback.

>>> from predictor import CampaignPlan, Predictor
>>> predictor = Predictor.from_env()
>>> predictor.predict(CampaignPlan(duration_days=30, total_budget=5000, start_month=5,
...                                num_unique_interests=3, total_ads=4)).purchases  # doctest: +SKIP
"""

from predictor.contract.features import FEATURE_COLUMNS
from predictor.contract.plan import CampaignPlan, PlanError
from predictor.serving.bundle import BundleError
from predictor.serving.endpoint_errors import (
    AuthError,
    BadResponseError,
    DeadlineExceededError,
    EndpointConnectionError,
    EndpointError,
    EndpointTimeoutError,
    EndpointWarmingError,
    ImplausibleAnswerError,
    NotFoundError,
    RateLimitedError,
    RequestRejectedError,
    ServerError,
)
from predictor.serving.model_code.interval import IntervalLevelError
from predictor.serving.predictor import Prediction, Predictor
from predictor.serving.settings import ConfigError, PredictorConfig

__all__ = [
    "FEATURE_COLUMNS",
    "AuthError",
    "BadResponseError",
    "BundleError",
    "CampaignPlan",
    "ConfigError",
    "DeadlineExceededError",
    "EndpointConnectionError",
    "EndpointError",
    "EndpointTimeoutError",
    "EndpointWarmingError",
    "ImplausibleAnswerError",
    "IntervalLevelError",
    "NotFoundError",
    "PlanError",
    "Prediction",
    "Predictor",
    "PredictorConfig",
    "RateLimitedError",
    "RequestRejectedError",
    "ServerError",
]
