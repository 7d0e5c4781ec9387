"""A plan, an answer, and many concurrent clients, for the scenario log tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from predictor import CampaignPlan
from predictor.record.scenario_log import ScenarioLog

PLAN = CampaignPlan(
    duration_days=30,
    total_budget=5000.5,
    start_month=5,
    num_unique_interests=3,
    total_ads=4,
    facebook_ads=3,
    instagram_ads=1,
    image_ads=2,
    video_ads=2,
    all_gender_ads=4,
    age_25_34_ads=4,
)


@dataclass(frozen=True)
class Answer:
    """The fields of a :class:`predictor.Prediction` that the log keeps."""

    purchases: int = 12
    lower: int = 5
    upper: int = 21
    level: float = 0.9
    backend: str = "local"


def hammer(log: ScenarioLog, clients: int, per_client: int) -> list[BaseException]:
    """``clients`` threads, started together, each recording ``per_client`` named rows.

    Row names are ``c{client}-{i}``; returns the exceptions the threads met (none expected).
    """
    errors: list[BaseException] = []
    start = threading.Barrier(clients)

    def client(c: int) -> None:
        try:
            start.wait()
            for i in range(per_client):
                log.record(PLAN, Answer(purchases=i), model="ridge", scenario_name=f"c{c}-{i}")
        except BaseException as exc:  # a record() that raises is what the test looks for
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def expected_names(clients: int, per_client: int) -> set[str]:
    """The names :func:`hammer` records."""
    return {f"c{c}-{i}" for c in range(clients) for i in range(per_client)}
