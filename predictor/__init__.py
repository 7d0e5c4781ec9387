"""One prediction layer for campaign purchases: Databricks endpoint first, local bundle as fallback.

>>> from predictor import CampaignPlan, Predictor
>>> predictor = Predictor.from_env()
>>> predictor.predict(CampaignPlan(duration_days=30, total_budget=5000, start_month=5,
...                                num_unique_interests=3, total_ads=4)).purchases  # doctest: +SKIP
"""

from predictor.bundle import BundleError
from predictor.config import ConfigError, PredictorConfig
from predictor.core import Prediction, Predictor
from predictor.features import FEATURE_COLUMNS
from predictor.interval import IntervalLevelError
from predictor.plan import CampaignPlan, PlanError
from predictor.remote import (
    AuthError,
    BadResponseError,
    EndpointConnectionError,
    EndpointError,
    EndpointTimeoutError,
    EndpointWarmingError,
    NotFoundError,
    RateLimitedError,
    RequestRejectedError,
    ServerError,
)

__all__ = [
    "FEATURE_COLUMNS",
    "AuthError",
    "BadResponseError",
    "BundleError",
    "CampaignPlan",
    "ConfigError",
    "EndpointConnectionError",
    "EndpointError",
    "EndpointTimeoutError",
    "EndpointWarmingError",
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
