"""publish-space --secrets-from-env: Space secrets from the environment, never printed.

The secrets go to a loopback HTTP server speaking the Hub's Space-secrets API through a real
``HfApi``; the rest of the publication is a recording stand-in.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.publish import HF_TOKEN, RecordingHfApi, parse, run
from training.publish import space

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

    monkeypatch.setattr(huggingface_hub, "HfApi", RecordingHfApi)
    argv = _with_secrets(monkeypatch, project)
    monkeypatch.delenv("DATABRICKS_CLIENT_ID")
    RecordingHfApi.calls = []
    for extra in (["--dry-run"], []):
        assert run(argv + extra) == 2
        assert "DATABRICKS_CLIENT_ID is not set" in capsys.readouterr().err
    assert RecordingHfApi.calls == []


def test_publish_sets_the_secrets_before_the_upload(
    project: Path,
    offline: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", RecordingHfApi)
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    assert run(_with_secrets(monkeypatch, project)) == 0
    out, err = capsys.readouterr()
    calls = RecordingHfApi.calls
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

        class HubApi(RecordingHfApi):
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
