"""What drove a number: exact per-feature factors of the served Ridge model against the average
training campaign.

The served model is linear on the log scale: ``log1p(purchases) = b + sum_j w_j * z_j`` where
``z_j`` is input ``j`` (its ``log1p`` for budget, duration, ads and interests) standardized by
the training mean and spread. The "average training campaign" is the campaign at the training
means the model's own scaler holds (so the typical budget is the geometric-style mean
``expm1(mean(log1p(budget)))``). Against it each input contributes ``w_j * (z_j - z_avg_j)`` to
the log, so ``(purchases + 1) = (average + 1) × product of exp(contribution)``: exact factors.
Mix columns (platform, format, gender, age) and the start/end months move together, so each
group is reported as one combined factor rather than as opposite-signed parts.

A model that is not linear (the voting ensemble) has no exact factors. For it each group is set
to the typical campaign's values, one group at a time with the rest as planned, and the change
in the prediction is that group's effect: a local, model-agnostic breakdown, all rows scored in
one batch call. The typical campaign is the one the model's own scaler holds (the ensemble's
linear member was fitted on the same training data). :attr:`Explanation.method` says which
method answered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from predictor.contract.features import AD_CATEGORIES, FEATURE_COLUMNS
from predictor.contract.formatting import fmt_feature, fmt_money, month_name
from predictor.contract.plan import COLUMN_LABELS, CampaignPlan, PlanError
from predictor.serving.extrapolation import TrainingBounds, refuse_absurd

if TYPE_CHECKING:
    from predictor.serving.predictor import Predictor

MIX_NAMES: dict[str, str] = {
    "ad_platform": "platform mix",
    "ad_type": "format mix",
    "target_gender": "gender mix",
    "target_age_group": "age mix",
}
# (name, model columns) of each reported effect, in FEATURE_COLUMNS terms.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("total budget", ("total_budget",)),
    ("duration", ("duration_days",)),
    ("total ads", ("num_ads",)),
    ("unique interests", ("num_unique_interests",)),
    ("start and end month", ("start_month", "end_month")),
    *(
        (MIX_NAMES[column], tuple(f"{column}_{c}" for c in categories))
        for column, categories in AD_CATEGORIES.items()
    ),
)
LOCAL_COPY_NOTE = (
    "The prediction came from the Databricks endpoint; this explanation is from the local copy "
    "of the model."
)


METHOD_EXACT = "exact"
METHOD_SWAP = "one at a time"
METHOD_WORDS: dict[str, str] = {
    METHOD_EXACT: "exact factors of the linear model: they multiply to its answer",
    METHOD_SWAP: "each setting set to the typical campaign's, one at a time, the rest as planned "
    "(this model is not linear, so its answer has no exact factors)",
}


class ExplainError(ValueError):
    """The model cannot be explained as exact factors (it is not the served log-linear Ridge)."""


@dataclass(frozen=True)
class LinearTerms:
    """The served model unpacked: ``log1p(purchases) = intercept + weights · z(x)``.

    Arrays are per transformed column; ``columns`` names each one's model input and ``logged``
    says whether it enters as ``log1p``. ``average`` is the average training campaign in
    transformed units. Columns SelectKBest dropped have weight 0.
    """

    estimator: Any
    columns: tuple[str, ...]
    logged: np.ndarray
    average: np.ndarray
    weights: np.ndarray
    intercept: float

    def transform(self, rows: pd.DataFrame) -> np.ndarray:
        """Standardized inputs ``z`` of ``rows`` (the 19 FEATURE_COLUMNS), by the model itself."""
        pipe = self.estimator.regressor_
        return pipe.named_steps["scale"].transform(pipe.named_steps["features"].transform(rows))

    def transform_average(self) -> np.ndarray:
        """Standardized inputs ``z`` of the average training campaign."""
        scaler = self.estimator.regressor_.named_steps["scale"]
        return scaler.transform(self.average[None, :])[0]


def linear_terms(estimator: Any) -> LinearTerms:
    """Unpack the served model (``training.models.served_model``), or raise :class:`ExplainError`."""
    pipe = getattr(estimator, "regressor_", None)
    if (
        getattr(estimator, "func", None) is not np.log1p
        or getattr(estimator, "inverse_func", None) is not np.expm1
        or pipe is None
        or not {"features", "scale", "select", "ridge"} <= set(getattr(pipe, "named_steps", {}))
    ):
        raise ExplainError(
            "the model is not the served Ridge on log purchases, so it has no exact factors"
        )
    log_step = pipe.named_steps["features"].named_steps["log"]
    columns: list[str] = []
    logged: list[bool] = []
    for name, transformer, indices in log_step.transformers_:
        if name == "remainder" and transformer == "drop":
            continue
        is_log = getattr(transformer, "func", None) is np.log1p
        columns += [FEATURE_COLUMNS[i] for i in indices]
        logged += [is_log] * len(indices)
    scaler, select = pipe.named_steps["scale"], pipe.named_steps["select"]
    weights = np.zeros(len(columns))
    weights[select.get_support()] = np.ravel(pipe.named_steps["ridge"].coef_)
    return LinearTerms(
        estimator=estimator,
        columns=tuple(columns),
        logged=np.array(logged),
        average=scaler.mean_.copy(),
        weights=weights,
        intercept=float(np.ravel(pipe.named_steps["ridge"].intercept_)[0]),
    )


@dataclass(frozen=True)
class Contribution:
    """One effect: ``factor`` multiplies (purchases + 1) against the average campaign, and
    ``change`` is the purchases the plan would lose (or gain, if negative) were this setting the
    typical campaign's, the rest as planned."""

    name: str
    columns: tuple[str, ...]
    value: str
    typical: str
    factor: float
    label: str
    change: float = 0.0


@dataclass(frozen=True)
class Explanation:
    """A plan's prediction as the average campaign's times one factor per effect.

    ``(baseline + 1) × product(factors) == prediction + 1``, where ``prediction`` is the local
    model's raw answer. ``contributions`` are sorted by the size of their effect.
    """

    prediction: float
    baseline: float
    contributions: tuple[Contribution, ...]
    notes: tuple[str, ...]
    method: str = METHOD_EXACT

    def frame(self) -> pd.DataFrame:
        """One row per effect: name, label, factor, change, value, typical (sorted by effect)."""
        return pd.DataFrame(
            [(c.name, c.label, c.factor, c.change, c.value, c.typical) for c in self.contributions],
            columns=["name", "label", "factor", "change", "value", "typical"],
        )


def factor_text(factor: float) -> str:
    """``1.4`` -> ``"×1.40"``; large factors without decimals, never scientific notation."""
    return f"×{factor:,.0f}" if factor >= 10 else f"×{factor:.2f}"


def change_text(change: float) -> str:
    """``12.3`` -> ``"+12"``, ``-0.4`` -> ``"−0.4"``: purchases a setting adds or takes away."""
    text = f"{abs(change):,.0f}" if abs(change) >= 10 else f"{abs(change):,.1f}"
    if text.strip("0.,") == "":
        return "±0"
    return ("+" if change > 0 else "−") + text


def _short(column: str) -> str:
    return COLUMN_LABELS[column].removesuffix(" ads")


def _describe(name: str, columns: tuple[str, ...], row: dict, typical: dict) -> tuple[str, str]:
    """Plain words for the plan's and the typical value of one effect."""
    if name == "start and end month":
        plan_text = f"{month_name(row['start_month'])} to {month_name(row['end_month'])}"
        # The typical months are averages (6.5): the nearest months, in words.
        start, end = (month_name(min(12, max(1, math.floor(typical[c] + 0.5)))) for c in columns)
        return plan_text, f"{start} to {end}"
    if len(columns) > 1:
        plan_text = ", ".join(f"{_short(c)} {fmt_feature(c, row[c])}" for c in columns)
        return plan_text, ", ".join(f"{_short(c)} {typical[c]:.1f}" for c in columns)
    (column,) = columns
    unit = " days" if column == "duration_days" else ""
    if column == "total_budget":
        return fmt_money(row[column]), fmt_money(typical[column])
    return f"{fmt_feature(column, row[column])}{unit}", f"{typical[column]:,.1f}{unit}"


def explain_row(terms: LinearTerms, features: dict[str, float]) -> Explanation:
    """Factors of one feature row against the average training campaign (exact, checked)."""
    values = pd.DataFrame([[float(features[c]) for c in FEATURE_COLUMNS]], columns=FEATURE_COLUMNS)
    z = terms.transform(values)[0]
    z_avg = terms.transform_average()
    parts = terms.weights * (z - z_avg)
    base_log = terms.intercept + float(terms.weights @ z_avg)
    prediction = float(np.ravel(terms.estimator.predict(values))[0])
    if not math.isclose(base_log + parts.sum(), math.log1p(prediction), rel_tol=1e-9, abs_tol=1e-9):
        raise ExplainError("the model's terms do not add up to its prediction")
    typical = {
        c: float(np.expm1(m) if is_log else m)
        for c, m, is_log in zip(terms.columns, terms.average, terms.logged, strict=True)
    }
    effects = []
    for name, columns in GROUPS:
        log_effect = float(sum(parts[terms.columns.index(c)] for c in columns))
        factor = math.exp(log_effect)
        plan_text, typical_text = _describe(name, columns, features, typical)
        label = f"{name}: {plan_text} vs typical {typical_text}"
        # Were this setting typical, (purchases + 1) would be divided by its factor.
        change = prediction - ((prediction + 1) / factor - 1)
        effects.append(Contribution(name, columns, plan_text, typical_text, factor, label, change))
    effects.sort(key=lambda c: abs(math.log(c.factor)), reverse=True)
    note = (
        f"A typical campaign of the training data is predicted {math.expm1(base_log):,.0f} "
        "purchases. Each setting of your plan multiplies that (plus one): ×2.00 doubles it, "
        "×0.50 halves it; the factors multiply to your number. The longest bars are the "
        "settings to change first."
    )
    return Explanation(prediction, math.expm1(base_log), tuple(effects), (note,))


def typical_campaign(estimator: Any) -> dict[str, float]:
    """The average training campaign the model holds (its scaler's means, in plain units), for
    the served Ridge or an ensemble with it as a member; :class:`ExplainError` otherwise."""
    members = [estimator, *getattr(estimator, "estimators_", [])]
    for member in members:
        try:
            terms = linear_terms(member)
        except ExplainError:
            continue
        return {
            c: float(np.expm1(m) if is_log else m)
            for c, m, is_log in zip(terms.columns, terms.average, terms.logged, strict=True)
        }
    raise ExplainError("the model holds no typical training campaign to compare the plan with")


def explain_by_swapping(
    estimator: Any, features: dict[str, float], typical: dict[str, float]
) -> Explanation:
    """Each group's effect on any model: the plan's prediction less the prediction with that
    group set to ``typical``, the rest as planned; the plan, each swap and the typical campaign
    are scored in one call."""
    rows = [dict(features)]
    for _, columns in GROUPS:
        rows.append({**features, **{c: typical[c] for c in columns}})
    rows.append(dict(typical))
    frame = pd.DataFrame(rows, columns=FEATURE_COLUMNS).astype(float)
    scores = np.clip(np.ravel(estimator.predict(frame)).astype(float), 0.0, None)
    prediction, swapped, baseline = float(scores[0]), scores[1:-1], float(scores[-1])
    effects = []
    for (name, columns), other in zip(GROUPS, swapped, strict=True):
        plan_text, typical_text = _describe(name, columns, features, typical)
        change = prediction - float(other)
        factor = (prediction + 1) / (float(other) + 1)
        label = f"{name}: {plan_text} vs typical {typical_text}"
        effects.append(Contribution(name, columns, plan_text, typical_text, factor, label, change))
    effects.sort(key=lambda c: abs(c.change), reverse=True)
    total = sum(c.change for c in effects)
    note = (
        f"A typical campaign of the training data is predicted {baseline:,.0f} purchases, your "
        f"plan {prediction:,.0f}. Each bar is the purchases your plan would lose (or gain) were "
        "that one setting typical, the rest as planned: the longest bars are the settings to "
        f"change first. The settings work together in this model, so the bars add up to "
        f"{change_text(total)}, not exactly the {change_text(prediction - baseline)} between "
        "the two."
    )
    return Explanation(prediction, baseline, tuple(effects), (note,), METHOD_SWAP)


def explain(
    predictor: Predictor, plan: CampaignPlan, answered_by: str | None = None
) -> Explanation:
    """What drove ``plan``'s prediction, from the local bundle's model: exact factors for the
    linear model, else each setting swapped for the typical campaign's (see the module).

    ``answered_by`` is the backend of the shown answer; for ``"databricks"`` a note says the
    explanation is from the local copy of the model.
    """
    if not isinstance(plan, CampaignPlan):
        raise PlanError("plan", "plan must be a CampaignPlan")
    if plan.total_ads == 0:
        raise PlanError(
            "total_ads", "with no ads the prediction is 0 without the model; add ads to explain it"
        )
    features = plan.to_features()
    bounds = TrainingBounds.from_metadata(predictor.metadata.training_range)
    refuse_absurd(np.array([[features[c] for c in FEATURE_COLUMNS]]), bounds)
    estimator = predictor.local_estimator()
    try:
        explanation = explain_row(linear_terms(estimator), features)
    except ExplainError:
        explanation = explain_by_swapping(estimator, features, typical_campaign(estimator))
    if answered_by == "databricks":
        notes = (*explanation.notes, LOCAL_COPY_NOTE)
        explanation = Explanation(
            explanation.prediction,
            explanation.baseline,
            explanation.contributions,
            notes,
            explanation.method,
        )
    return explanation
