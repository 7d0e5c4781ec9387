"""publish-space: the Space's file list, dry runs and the upload calls.

The Hub is a recording stand-in; nothing leaves the machine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.publish import (
    HF_TOKEN,
    SPACE_EXCLUDED,
    SPACE_RUNTIME,
    RecordingHfApi,
    parse,
    run,
)
from training.publish import space
from training.publish import space_files as files


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
    assert {"app.py", "predictor/serving/predictor.py", "ui/__init__.py"} <= uploaded
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

    monkeypatch.setattr(huggingface_hub, "HfApi", RecordingHfApi)
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    argv = ["publish-space", "--repo-id", "me/planner", "--root", str(project)]
    rc = run(argv + (["--private"] if private else []))
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert HF_TOKEN not in out + err

    calls = RecordingHfApi.calls
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

    monkeypatch.setattr(huggingface_hub, "HfApi", RecordingHfApi)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    RecordingHfApi.calls = []
    rc = run(["publish-space", "--repo-id", "me/planner", "--root", str(project)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "set HF_TOKEN" in err
    assert RecordingHfApi.calls == []


def _add_alternative(project: Path) -> Path:
    """A second bundle under model/alternatives/, with its own manifest."""
    from predictor.serving.bundle import write_manifest

    alternative = project / "model" / "alternatives" / "boosting"
    alternative.mkdir(parents=True)
    for name in ("MLmodel", "model.skops"):
        (alternative / name).write_text(f"alternative {name}\n", encoding="utf-8")
    write_manifest(alternative)
    return alternative


def test_the_space_gets_every_bundle_each_checked_against_its_own_manifest(
    project: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    alternative = _add_alternative(project)
    uploaded = files.space_files(project)
    prefix = "model/alternatives/boosting/"
    assert {f"{prefix}MLmodel", f"{prefix}model.skops", f"{prefix}manifest.sha256"} <= set(uploaded)
    files.check_space_files(project, uploaded)  # both bundles verify
    with pytest.raises(files.PublishError, match=r"alternatives/boosting/model\.skops is listed"):
        files.check_space_files(project, [f for f in uploaded if f != f"{prefix}model.skops"])

    (alternative / "model.skops").write_text("tampered")
    rc = run(["publish-space", "--repo-id", "me/planner", "--root", str(project), "--dry-run"])
    assert rc == 2
    assert "alternatives/boosting/model.skops was altered" in capsys.readouterr().err


def test_the_space_refuses_a_file_no_bundle_lists(
    project: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (_add_alternative(project) / "stale.json").write_text("{}")
    rc = run(["publish-space", "--repo-id", "me/planner", "--root", str(project), "--dry-run"])
    assert rc == 2
    assert "model/alternatives/boosting/stale.json is not listed" in capsys.readouterr().err
