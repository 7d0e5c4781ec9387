"""publish-space: the Space's file list, dry runs, Space secrets and the upload calls.

The Hub is a recording stand-in for the upload, and a loopback HTTP server speaking the Hub's
Space-secrets API for the secrets; nothing leaves the machine.
"""

from __future__ import annotations

import ast
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from publish_support import block_network, parse, run

from predictor.bundle import write_manifest
from training.publish import space
from training.publish import space_files as files

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
    "predictor/core.py",
    "predictor/sub/helpers.py",
    "requirements.txt",
    "ui/__init__.py",
    "ui/page.py",
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


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    block_network(monkeypatch)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fake project tree: the Space runtime plus everything that must stay behind."""
    root = tmp_path / "project"
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


@pytest.mark.parametrize(
    "repo_id", ["nouser", "a/b/c", "me/a--b", "me/-x", "me/x.git", "/x", "me/"]
)
def test_bad_space_repo_id_exits_2(repo_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse(["publish-space", "--repo-id", repo_id, "--dry-run"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--repo-id" in err
    assert "Traceback" not in err


def test_good_space_repo_id_parses() -> None:
    args = parse(["publish-space", "--repo-id", "someone/campaign-planner", "--private"])
    assert args.repo_id == "someone/campaign-planner"
    assert args.private is True
    assert args.func is space.cmd_publish_space


# --------------------------------------------------------------------------- Space


def test_space_files_are_exactly_the_runtime(project: Path) -> None:
    assert files.space_files(project) == SPACE_RUNTIME


def _project_imports(path: Path) -> set[str]:
    """Top-level names a Python file imports (absolute imports, anywhere in the file)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_space_gets_every_project_module_its_files_import() -> None:
    """In this very project: whatever an uploaded file imports from the project is uploaded too."""
    repo = Path(__file__).resolve().parents[1]
    uploaded = set(files.space_files(repo))
    assert {"app.py", "predictor/core.py", "ui/__init__.py"} <= uploaded
    for name in sorted(f for f in uploaded if f.endswith(".py")):
        for top in _project_imports(repo / name):
            package = repo / top
            if (package / "__init__.py").is_file():
                modules = {p.relative_to(repo).as_posix() for p in package.glob("*.py")}
                assert modules <= uploaded, f"{name} imports {top}, which is not all uploaded"
            assert not (repo / f"{top}.py").is_file() or f"{top}.py" in uploaded, (name, top)


def test_space_files_match_what_upload_folder_would_upload(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import HfApi

    api = HfApi(token=False)
    monkeypatch.setattr(api, "_validate_yaml", lambda *a, **k: None)  # a network call otherwise
    ignore = list(files.SPACE_IGNORE_PATTERNS)
    from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS

    operations = api._prepare_upload_folder_additions(
        project,
        "",
        allow_patterns=list(files.SPACE_ALLOW_PATTERNS),
        ignore_patterns=ignore + DEFAULT_IGNORE_PATTERNS,
        repo_type="space",
    )
    assert [op.path_in_repo for op in operations] == files.space_files(project)


def test_space_dry_run_lists_exactly_the_files_offline(
    project: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = run(["publish-space", "--repo-id", "me/planner", "--root", str(project), "--dry-run"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    listed = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert listed == SPACE_RUNTIME
    assert "would create Space me/planner (sdk gradio" in out
    assert f"would upload {len(SPACE_RUNTIME)} files" in out
    for name in SPACE_EXCLUDED:
        assert name not in listed


def test_space_dry_run_refuses_missing_app(
    project: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "app.py").unlink()
    rc = run(["publish-space", "--repo-id", "me/planner", "--root", str(project), "--dry-run"])
    assert rc == 2
    assert "app.py is missing" in capsys.readouterr().err


def test_space_refuses_altered_bundle(
    project: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "model" / "model.skops").write_text("tampered")
    rc = run(["publish-space", "--repo-id", "me/planner", "--root", str(project), "--dry-run"])
    assert rc == 2
    assert "model.skops was altered" in capsys.readouterr().err


def test_space_refuses_unlisted_bundle_file(
    project: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "model" / "stale.json").write_text("{}")
    rc = run(["publish-space", "--repo-id", "me/planner", "--root", str(project), "--dry-run"])
    assert rc == 2
    assert "model/stale.json is not listed" in capsys.readouterr().err


class _RecordingHfApi:
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


@pytest.mark.parametrize("private", [False, True])
def test_publish_space_creates_and_uploads_with_patterns(
    project: Path,
    private: bool,
    offline: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import huggingface_hub
    from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS, filter_repo_objects

    monkeypatch.setattr(huggingface_hub, "HfApi", _RecordingHfApi)
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    argv = ["publish-space", "--repo-id", "me/planner", "--root", str(project)]
    rc = run(argv + (["--private"] if private else []))
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert HF_TOKEN not in out + err

    calls = _RecordingHfApi.calls
    names = [c[0] for c in calls]
    assert names == (
        ["create_repo", "update_repo_settings", "upload_folder"]
        if private
        else ["create_repo", "upload_folder"]
    )
    _, args, kwargs = calls[0]
    assert args == ("me/planner",)
    assert kwargs["repo_type"] == "space"
    assert kwargs["space_sdk"] == "gradio"
    assert kwargs["exist_ok"] is True
    assert kwargs["private"] is (True if private else None)

    upload = calls[-1][2]
    assert upload["repo_id"] == "me/planner"
    assert upload["repo_type"] == "space"
    assert Path(upload["folder_path"]) == project.resolve()
    # The patterns handed to upload_folder select exactly the listed runtime files.
    every_file = sorted(
        p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()
    )
    selected = filter_repo_objects(
        every_file,
        allow_patterns=upload["allow_patterns"],
        ignore_patterns=upload["ignore_patterns"] + DEFAULT_IGNORE_PATTERNS,
    )
    assert sorted(selected) == SPACE_RUNTIME
    assert f"uploaded {len(SPACE_RUNTIME)} files" in out


def test_publish_space_without_token_says_what_to_set(
    project: Path,
    offline: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", _RecordingHfApi)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    _RecordingHfApi.calls = []
    rc = run(["publish-space", "--repo-id", "me/planner", "--root", str(project)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "set HF_TOKEN" in err
    assert _RecordingHfApi.calls == []


# --------------------------------------------------------------------------- Space secrets

SECRETS = {
    "DATABRICKS_ENDPOINT_URL": "https://adb-1.azuredatabricks.net/serving-endpoints/m/invocations",
    "DATABRICKS_CLIENT_ID": "6f1c2b9e-client",
    "DATABRICKS_CLIENT_SECRET": "dose" + "c3" * 16,
}


class FakeHub:
    """A loopback server answering the Hub's Space-secrets API; records what it was sent."""

    def __init__(self, fail_with: int | None = None) -> None:
        self.received: list[tuple[str, str | None, dict[str, Any]]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hub.received.append((self.path, self.headers.get("Authorization"), body))
                status = fail_with or 200
                # A careless server echoes the value it refused.
                data = json.dumps({"error": f"refused {body.get('value')}"} if fail_with else {})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data.encode())

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_secrets_are_set_through_the_hubs_space_secret_api() -> None:
    from huggingface_hub import HfApi

    with FakeHub() as hub:
        space.set_space_secrets(HfApi(endpoint=hub.endpoint, token=HF_TOKEN), "me/planner", SECRETS)
    assert [path for path, _, _ in hub.received] == ["/api/spaces/me/planner/secrets"] * 3
    assert {auth for _, auth, _ in hub.received} == {f"Bearer {HF_TOKEN}"}
    assert [body for _, _, body in hub.received] == [
        {"key": key, "value": value} for key, value in SECRETS.items()
    ]


@pytest.mark.parametrize(
    ("value", "names"),
    [("A", ("A",)), (" A , B_2,A ", ("A", "B_2")), ("_X,y", ("_X", "y"))],
)
def test_secret_names_parse(value: str, names: tuple[str, ...]) -> None:
    assert space.secret_names(value) == names


@pytest.mark.parametrize("value", ["", ",", "A-B", "1A", "A,B C", "A=1"])
def test_bad_secret_names_exit_2(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse(["publish-space", "--repo-id", "me/x", "--secrets-from-env", value])
    assert exc.value.code == 2
    assert "--secrets-from-env" in capsys.readouterr().err


def _with_secrets(monkeypatch: pytest.MonkeyPatch, project: Path) -> list[str]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    names = ",".join(SECRETS)
    argv = ["publish-space", "--repo-id", "me/planner", "--root", str(project)]
    return [*argv, "--secrets-from-env", names]


def test_dry_run_lists_secret_names_only(
    project: Path,
    offline: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc = run([*_with_secrets(monkeypatch, project), "--dry-run"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert f"would set Space secrets {', '.join(SECRETS)} from the environment" in out
    for value in SECRETS.values():
        assert value not in out + err


def test_dry_run_without_secrets_says_the_space_serves_locally(
    project: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = run(["publish-space", "--repo-id", "me/planner", "--root", str(project), "--dry-run"])
    assert rc == 0
    assert "no Space secrets set" in capsys.readouterr().out


def test_an_unset_secret_is_refused_before_anything_is_sent(
    project: Path,
    offline: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", _RecordingHfApi)
    argv = _with_secrets(monkeypatch, project)
    monkeypatch.delenv("DATABRICKS_CLIENT_ID")
    _RecordingHfApi.calls = []
    for extra in (["--dry-run"], []):
        assert run(argv + extra) == 2
        assert "DATABRICKS_CLIENT_ID is not set" in capsys.readouterr().err
    assert _RecordingHfApi.calls == []


def test_publish_sets_the_secrets_before_the_upload(
    project: Path,
    offline: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", _RecordingHfApi)
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    assert run(_with_secrets(monkeypatch, project)) == 0
    out, err = capsys.readouterr()
    calls = _RecordingHfApi.calls
    assert [c[0] for c in calls] == ["create_repo", *["add_space_secret"] * 3, "upload_folder"]
    assert [c[1] for c in calls[1:4]] == [("me/planner", k, v) for k, v in SECRETS.items()]
    assert f"set Space secrets {', '.join(SECRETS)}" in out
    for value in [*SECRETS.values(), HF_TOKEN]:
        assert value not in out + err


def test_a_refused_secret_is_one_scrubbed_line_with_exit_1(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import huggingface_hub

    real_api = huggingface_hub.HfApi
    with FakeHub(fail_with=403) as hub:

        class HubApi(_RecordingHfApi):
            """Records the upload; sends the secrets to the fake Hub, which refuses them."""

            def add_space_secret(self, *args: Any, **kwargs: Any) -> None:
                real_api(endpoint=hub.endpoint, token=HF_TOKEN).add_space_secret(*args, **kwargs)

        monkeypatch.setattr(huggingface_hub, "HfApi", HubApi)
        monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
        rc = run(_with_secrets(monkeypatch, project))
    out, err = capsys.readouterr()
    assert rc == 1 and len(hub.received) == 1
    assert err.startswith("error: publishing the Space failed:")
    assert "Traceback" not in err and "upload_folder" not in [c[0] for c in HubApi.calls]
    for value in [*SECRETS.values(), HF_TOKEN]:
        assert value not in out + err
