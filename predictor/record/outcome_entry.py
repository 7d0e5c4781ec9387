"""One result entered by hand: for the answer on screen, or a saved scenario picked by name.

A scenario is looked up among the session's saved scenarios first (their answers as shown), then
in the scenario log (a scenario saved in an earlier session). The outcome keeps that answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from predictor.contract.formatting import fmt_count, range_text
from predictor.contract.plan import PLAN_FIELDS, CampaignPlan
from predictor.record.outcome_rows import OutcomeError, Shown, clean_name, outcome_row
from predictor.record.outcomes import OutcomeStore, Receipt


def _plan(record: Mapping[str, Any]) -> CampaignPlan:
    plan = record.get("plan") if isinstance(record.get("plan"), Mapping) else record
    try:
        return CampaignPlan(**{f: plan[f] for f in PLAN_FIELDS if f in plan})
    except TypeError:
        raise OutcomeError("the answer's plan is incomplete; predict it again") from None


def answer_for(
    name: object,
    answer: Mapping[str, Any] | None,
    scenarios: Sequence[Mapping[str, Any]],
    store: OutcomeStore,
) -> tuple[str | None, CampaignPlan, Shown]:
    """The scenario's name (None for the answer on screen), its plan and the answer shown.

    Raises :class:`OutcomeError` saying what to do when there is nothing to record against.
    """
    wanted = clean_name(name)
    if wanted is None:
        if not isinstance(answer, Mapping) or not answer:
            raise OutcomeError("predict a plan first, or pick a saved scenario")
        return None, _plan(answer), Shown.of(answer)
    for saved in scenarios:
        if isinstance(saved, Mapping) and saved.get("name") == wanted:
            return wanted, _plan(saved), Shown.of(saved)
    logged = store.saved_scenario(wanted)
    if logged is None:
        raise OutcomeError(
            f"no scenario is saved as {wanted!r}; pick one from the list, or save the plan "
            "as a scenario first"
        )
    return wanted, _plan(logged), Shown.of(logged)


def record_one(
    store: OutcomeStore,
    *,
    name: object,
    answer: Mapping[str, Any] | None,
    scenarios: Sequence[Mapping[str, Any]],
    actual: object,
    spend: object = None,
    replace: bool = False,
) -> str:
    """Record one result; the sentence that says what was kept.

    Raises :class:`OutcomeError` for bad input or a scenario that has a result (without
    ``replace``), and :class:`predictor.record.outcomes.OutcomeStoreError` for a store that
    cannot be written.
    """
    scenario, plan, shown = answer_for(name, answer, scenarios, store)
    row = outcome_row(plan, actual, shown, spend=spend, scenario_name=scenario)
    receipt = store.add([(None, row)], replace=replace)
    if receipt.refused:
        raise OutcomeError(receipt.refused[0].reason)
    return result_sentence(receipt, row)


def result_sentence(receipt: Receipt, row: Mapping[str, Any]) -> str:
    """E.g. "Recorded: scenario A brought 120 purchases against 94 predicted (90% range:
    55–132), inside the range." """
    what = f"scenario {row['scenario_name']}" if row["scenario_name"] else "the plan"
    actual, low, high = row["actual_purchases"], row["lower"], row["upper"]
    where = (
        "inside the range"
        if low <= actual <= high
        else ("above the range" if actual > high else "below the range")
    )
    again = " (it replaced the earlier result)" if receipt.replaced else ""
    return (
        f"Recorded{again}: {what} brought {fmt_count(actual)} purchases against "
        f"{fmt_count(row['predicted'])} predicted ({range_text(row['level'], low, high)}), {where}."
    )
