"""Helpers for the publishing tests: the CLI, no network, a fake project, a recording Hub API.

A pytest plugin, registered in ``tests/conftest.py``: it provides the ``offline`` and ``project``
fixtures.
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from typing import Any, ClassVar

import pytest

from predictor.serving.bundle import write_manifest
from training import publish


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse ``argv`` with the publishing subcommands, as ``python -m training`` does."""
    parser = argparse.ArgumentParser(prog="python -m training")
    sub = parser.add_subparsers(dest="command")
    publish.add_subcommands(sub)
    return parser.parse_args(argv)


def run(argv: list[str]) -> int:
    """Run the subcommand of ``argv``; return its exit code."""
    args = parse(argv)
    return args.func(args)


def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to open a network connection fail the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


HF_TOKEN = "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123"

# Files of the fake project the Space must get, sorted as space_files returns them.
SPACE_RUNTIME = [
    "LICENSE",
    "README.md",
    "app.py",
    "model/MLmodel",
    "model/manifest.sha256",
    "model/model.skops",
    "model/requirements.txt",
    "predictor/__init__.py",
    "predictor/serving/predictor.py",
    "predictor/sub/helpers.py",
    "requirements.txt",
    "ui/__init__.py",
    "ui/page.py",
    "ui/sample_plans.csv",
    "ui/sample_results.csv",
]
# Files that must never be uploaded.
SPACE_EXCLUDED = [
    "secrets.toml",
    "prod.secrets.toml",
    ".env",
    ".env.local",
    ".streamlit/secrets.toml",
    "predictor/.env",
    "predictor/secrets.toml",
    "model/__pycache__/x.cpython-311.pyc",
    "model/.DS_Store",
    "predictor/__pycache__/core.cpython-311.pyc",
    "predictor/notes.txt",
    "ui/.env",
    "ui/__pycache__/page.cpython-311.pyc",
    "__pycache__/app.cpython-311.pyc",
    "data/x.csv",
    "data/synthetic/ads.csv",
    "mlruns/0/meta.yaml",
    "mlruns/0/abc/artifacts/model/MLmodel",
    "mlartifacts/1/x.bin",
    "mlflow.db",
    ".pytest_cache/v/cache/nodeids",
    ".ruff_cache/0.1/x",
    ".gradio/flagged/log.csv",
    ".hypothesis/examples/x",
    ".git/config",
    ".databrickscfg",
    "tests/test_app.py",
    "training/train.py",
    "training/__main__.py",
    "bench/bench_app.py",
    "reports/comparison.csv",
    "secrets.toml.example",
    "requirements-dev.txt",
    "pyproject.toml",
]


def make_project(root: Path) -> Path:
    """A fake project tree at ``root``: the Space runtime plus everything that must stay behind."""
    for rel in SPACE_RUNTIME + SPACE_EXCLUDED:
        if rel == "model/manifest.sha256":
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"content of {rel}\n", encoding="utf-8")
    (root / "README.md").write_text("---\nsdk: gradio\napp_file: app.py\n---\n# App\n")
    # The manifest covers the bundle as trained; caches and stray files appear after it.
    for rel in ("model/__pycache__/x.cpython-311.pyc", "model/.DS_Store"):
        (root / rel).unlink()
    write_manifest(root / "model")
    for rel in ("model/__pycache__/x.cpython-311.pyc", "model/.DS_Store"):
        (root / rel).write_bytes(b"\x00cache")
    return root


class RecordingHfApi:
    """Records Hub calls instead of sending them."""

    calls: ClassVar[list[tuple[str, tuple[Any, ...], dict[str, Any]]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).calls = []

    def create_repo(self, *args: Any, **kwargs: Any) -> str:
        self.calls.append(("create_repo", args, kwargs))
        return f"https://huggingface.co/spaces/{args[0]}"

    def update_repo_settings(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("update_repo_settings", args, kwargs))

    def upload_folder(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("upload_folder", args, kwargs))

    def add_space_secret(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("add_space_secret", args, kwargs))


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network for the test: any connection attempt fails it."""
    block_network(monkeypatch)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh fake project tree (see :func:`make_project`)."""
    return make_project(tmp_path / "project")
