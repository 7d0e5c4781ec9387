"""The code shipped in each bundle is the project's own model_code, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from predictor.serving.model_choice import available_models
from training.export import SERVING_MODULES, SERVING_PACKAGE

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "predictor" / "serving" / "model_code"


def test_the_bundled_modules_are_the_source_package():
    assert sorted(SERVING_MODULES) == sorted(p.name for p in SOURCE.glob("*.py"))


@pytest.mark.parametrize("name", sorted(available_models(REPO / "model")))
def test_each_bundle_ships_the_source_byte_for_byte(name):
    bundle = available_models(REPO / "model")[name]
    shipped = bundle / "code" / SERVING_PACKAGE
    assert sorted(p.name for p in shipped.glob("*.py")) == sorted(SERVING_MODULES)
    for module in SERVING_MODULES:
        assert (shipped / module).read_bytes() == (SOURCE / module).read_bytes(), (
            f"{shipped / module} differs from predictor/serving/model_code/{module}: copy it "
            "into the bundle, rewrite the manifest and run python -m training pin (or retrain)"
        )


def test_the_served_interval_module_holds_no_training_code():
    text = (SOURCE / "interval.py").read_text()
    assert "def calibrate" not in text and "def conformal_quantile" not in text
