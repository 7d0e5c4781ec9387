"""Project-level promises: the Space front matter and the lean runtime requirements."""

from __future__ import annotations

import re
from importlib.metadata import version

import yaml
from packaging.requirements import Requirement

from tests.support.common import REPO


def _front_matter() -> dict:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with the Space front matter"
    return yaml.safe_load(match.group(1))


def _requirements(name: str) -> list[Requirement]:
    lines = (REPO / name).read_text().splitlines()
    return [
        Requirement(line) for line in lines if line.strip() and not line.startswith(("#", "-r"))
    ]


def test_space_front_matter_matches_the_runtime():
    meta = _front_matter()
    assert meta["sdk"] == "gradio"
    assert meta["app_file"] == "app.py" and (REPO / meta["app_file"]).is_file()
    assert str(meta["python_version"]) == "3.11"
    assert 0 < len(meta["short_description"]) <= 60  # the Hub's limit
    gradio = next(r for r in _requirements("requirements.txt") if r.name == "gradio")
    assert gradio.specifier.contains(meta["sdk_version"])
    assert meta["sdk_version"] == version("gradio")


def test_readme_opens_with_the_two_setup_commands():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1]
    first_block = body.split("```bash\n", 1)[1].split("```", 1)[0]
    assert "pip install -r requirements.txt && python app.py" in first_block
    assert "pip install -r requirements-dev.txt && python -m pytest" in first_block


def test_runtime_requirements_are_exactly_the_runtime_set():
    names = {r.name.lower() for r in _requirements("requirements.txt")}
    assert names == {
        "gradio",
        "gradio_client",
        "fastapi",
        "starlette",
        "mlflow-skinny",
        "databricks-sdk",
        "scikit-learn",
        "scipy",  # already a dependency of scikit-learn; the track record's binomial interval
        "skops",
        "pandas",
        "numpy",
        "requests",
        "urllib3",
        "pyyaml",
        "pydantic",
        "pydantic-settings",
        "sqlalchemy",
        "tqdm",
        "threadpoolctl",  # already a dependency of scikit-learn; BLAS on one thread for batches
    }
    assert all(str(r.specifier) for r in _requirements("requirements.txt")), (
        "pin a compatible range"
    )
