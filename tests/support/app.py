"""Fixtures for the app tests: the bundled predictor, the Gradio app on a loopback port, a client.

A pytest plugin, registered in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gradio_client import Client

from predictor import Predictor
from predictor.record.scenario_log import ScenarioLog
from predictor.serving.bundle_trust import TRUST_SETTING
from predictor.serving.model_choice import available_models, display_names
from predictor.serving.settings import PredictorConfig, trust_bundle_from_env
from tests.support.common import APP_MODEL_DIR, free_port


@pytest.fixture
def port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    return free_port()


@pytest.fixture(scope="session")
def predictor() -> Predictor:
    """The bundled model, answering locally whatever the environment says (another bundle, from
    ``PREDICTOR_TEST_MODEL_DIR``, needs ``PREDICTOR_TRUST_BUNDLE=1`` as in the app)."""
    return Predictor(PredictorConfig(trust_bundle=trust_bundle_from_env()), model_dir=APP_MODEL_DIR)


@pytest.fixture
def trust_bundles(monkeypatch: pytest.MonkeyPatch) -> None:
    """``PREDICTOR_TRUST_BUNDLE=1`` for the test: it may serve a bundle it made itself."""
    monkeypatch.setenv(TRUST_SETTING, "1")


@pytest.fixture(scope="session")
def app_predictor() -> Predictor:
    """The predictor the test app serves: the bundled model, configured from the environment."""
    return Predictor.from_env(APP_MODEL_DIR)


@pytest.fixture(scope="session")
def app_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScenarioLog]:
    """The test app's scenario log: a SQLite file of its own."""
    store = ScenarioLog(f"sqlite:///{tmp_path_factory.mktemp('log') / 'scenario_log.sqlite'}")
    yield store
    store.close()


@pytest.fixture(scope="session")
def app_url(app_predictor: Predictor, app_log: ScenarioLog) -> Iterator[str]:
    """The app, launched in this process on a free loopback port; its URL."""
    import app
    from ui import build_demo

    demo = build_demo(app_predictor, app_log)
    port = free_port()
    app.launch(
        demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="session")
def two_models(app_predictor: Predictor) -> Iterator[tuple[str, Predictor]]:
    """The app on both bundled models, as ``python app.py`` serves them; its URL and the
    second model's predictor."""
    import app
    from ui import build_demo

    boosting = Predictor.from_env(available_models(APP_MODEL_DIR)["boosting"], model="boosting")
    demo = build_demo(
        {"ridge": app_predictor, "boosting": boosting}, labels=display_names(APP_MODEL_DIR)
    )
    port = free_port()
    app.launch(
        demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True
    )
    try:
        yield f"http://127.0.0.1:{port}/", boosting
    finally:
        demo.close()


@pytest.fixture(scope="module")
def client(app_url: str) -> Client:
    """A Gradio client of the test app (one session per test module)."""
    return Client(app_url, verbose=False, analytics_enabled=False)
