"""The "Use via API" page's snippets work as copied: each Python snippet, exactly as the page shows
it, runs against the app on loopback and answers."""

from __future__ import annotations

import contextlib
import io
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from gradio_client.snippet import generate_code_snippets

from ui.batch import SAMPLE_PLANS
from ui.common import sample_file_example

# Each public endpoint, and words its printed answer holds when the snippet did its job.
EXPECTED: dict[str, str] = {
    "/predict": "Predicted purchases",
    "/roas": "cpp-cpa",
    "/curves": "your plan",
    "/explain": "vs typical",
    "/target_budget": "For 120 purchases",
    "/score_csv": "3 of 4 plans scored",
    "/save_scenario": "'name': 'B'",
    "/export_scenarios": ".csv",
    "/remove_scenario": "[]",
    "/dashboard": "logged",
    "/optimize": "Best plan for most expected purchases",
    "/record_result": "Recorded",
    "/record_results_csv": "results recorded",
    "/track_record": "result",
}


@pytest.fixture(scope="module")
def info(app_url: str) -> dict[str, Any]:
    """The API description the "Use via API" page reads, with its snippets."""
    answer = requests.get(f"{app_url}gradio_api/info", timeout=60)
    answer.raise_for_status()
    return answer.json()["named_endpoints"]


def test_every_public_endpoint_is_checked(info: dict[str, Any]) -> None:
    assert set(info) == set(EXPECTED)


def test_the_page_shows_gradios_own_snippets(info: dict[str, Any], app_url: str) -> None:
    # The page draws ``code_snippets`` from the info; they are gradio_client's generation from
    # each parameter's default or example, so fixing those fixes what a reader copies.
    root = app_url.rstrip("/")
    for name, endpoint in info.items():
        fresh = generate_code_snippets(name, endpoint, root, api_prefix="/gradio_api/")
        assert endpoint["code_snippets"]["python"] == fresh["python"], name


@pytest.mark.parametrize("name", list(EXPECTED))
def test_python_snippet_runs_as_copied(info: dict[str, Any], name: str) -> None:
    snippet = info[name]["code_snippets"]["python"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(snippet, f"<snippet {name}>", "exec"), {})  # the code a reader copies
    assert EXPECTED[name] in printed.getvalue(), (snippet, printed.getvalue()[:2000])


def test_snippets_quote_text_and_pass_numbers_as_numbers(info: dict[str, Any]) -> None:
    predict = info["/predict"]["code_snippets"]["python"]
    assert "start_month=5," in predict and "level=0.9," in predict
    assert '\tname="A",' in info["/remove_scenario"]["code_snippets"]["python"]
    assert "target_purchases=120," in info["/target_budget"]["code_snippets"]["python"]


def test_file_snippets_pass_the_sample_plans(info: dict[str, Any]) -> None:
    python = info["/score_csv"]["code_snippets"]["python"]
    javascript = info["/score_csv"]["code_snippets"]["javascript"]
    assert 'fetch("")' not in javascript
    # Run locally, the file is this folder's: a client on the same machine uploads it.
    assert f"plans_csv=handle_file('{SAMPLE_PLANS}')" in python
    assert f'fetch("{SAMPLE_PLANS}")' in javascript


@pytest.mark.parametrize(
    ("space", "share", "url"),
    [
        ("me/planner", None, "https://huggingface.co/spaces/me/planner/resolve/main/ui/"),
        (None, "https://abc.gradio.live/", "https://abc.gradio.live/gradio_api/file=/"),
    ],
)
def test_a_public_app_shows_a_public_sample_address(
    space: str | None, share: str | None, url: str
) -> None:
    app = SimpleNamespace(space_id=space, share_url=share, local_url="http://127.0.0.1:7860/")
    example = sample_file_example(app, SAMPLE_PLANS)
    assert example["url"].startswith(url) and example["url"].endswith("/sample_plans.csv")
    assert example["meta"] == {"_type": "gradio.FileData"}


def test_the_sample_address_on_a_space_serves_the_shipped_file() -> None:
    # The Space's copy comes from publish-space, which uploads ui/*.csv.
    from training.publish.space_files import SPACE_REQUIRED_FILES

    assert f"ui/{SAMPLE_PLANS.name}" in SPACE_REQUIRED_FILES
