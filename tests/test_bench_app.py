"""The app benchmark's own parts: its bare apps match ``/predict``, a dying server stops it."""

from __future__ import annotations

import sys

import pytest

from bench.bench_app import ServerExited, bare_blocks, free_port, main, start_server
from predictor import Predictor
from predictor.serving.model_choice import available_models
from tests.support.common import APP_MODEL_DIR


def _predict_io(blocks: object) -> tuple[list[str], list[str]]:
    """Component types of the inputs and outputs of ``blocks``' ``/predict``."""
    fn = next(f for f in blocks.fns.values() if f.api_name == "predict")  # type: ignore[attr-defined]
    return [type(c).__name__ for c in fn.inputs], [type(c).__name__ for c in fn.outputs]


def test_the_same_io_bare_app_has_the_inputs_and_outputs_of_predict() -> None:
    from ui import build_demo

    predictors = {
        name: Predictor(model_dir=d) for name, d in available_models(APP_MODEL_DIR).items()
    }
    app_io = _predict_io(build_demo(predictors))
    assert _predict_io(bare_blocks("bare")) == app_io
    minimal_in, minimal_out = _predict_io(bare_blocks("minimal"))
    assert (len(minimal_in), len(minimal_out)) == (1, 1)


def test_a_server_that_exits_before_answering_stops_the_benchmark_with_its_error() -> None:
    port = free_port()
    dying = [sys.executable, "-c", "import sys; sys.stderr.write('no model here'); sys.exit(3)"]
    # The deadline is far away: only noticing the exit ends the wait.
    with pytest.raises(ServerExited) as caught, start_server(dying, port, timeout=3600):
        pytest.fail("a dead server yielded a URL")
    message = str(caught.value)
    assert "exited with code 3" in message
    assert "no model here" in message


def test_the_command_line_reports_a_server_that_did_not_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bench.bench_app as bench

    monkeypatch.setattr(
        bench,
        "command",
        lambda *_args, **_kw: [sys.executable, "-c", "raise SystemExit('launch failed')"],
    )
    assert main(["--cold-runs", "1", "--load-users", "0"]) == 1
    err = capsys.readouterr().err
    assert "did not start" in err and "launch failed" in err
