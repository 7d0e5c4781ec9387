"""Bundle integrity: the SHA-256 manifest is checked before anything is deserialized.

What a verified bundle may hold, and which bundles are served, is in test_bundle_trust.py.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pandas as pd
import pytest

from predictor import FEATURE_COLUMNS, BundleError, CampaignPlan, Predictor
from predictor.serving.bundle import (
    ALTERNATIVES_DIR,
    MANIFEST_NAME,
    BundleMetadata,
    load_bundle,
    read_manifest,
    verify_bundle,
    verify_manifest,
    write_manifest,
)
from predictor.serving.settings import PredictorConfig
from tests.support.common import MODEL_DIR
from tests.support.predictor import copy_bundle

PICKLE_FLAG = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
PLAN = CampaignPlan(
    duration_days=30, total_budget=5000, start_month=4, num_unique_interests=2, total_ads=3
)


def test_committed_bundle_verifies_and_manifest_covers_every_file():
    entries = verify_manifest(MODEL_DIR)
    files = sorted(
        p.relative_to(MODEL_DIR).as_posix()
        for p in MODEL_DIR.rglob("*")
        if p.is_file()
        and p.name != MANIFEST_NAME
        and not p.relative_to(MODEL_DIR).as_posix().startswith(f"{ALTERNATIVES_DIR}/")
    )
    assert list(entries) == files
    assert {"MLmodel", "model.skops"} <= set(entries)
    for rel, digest in entries.items():
        assert hashlib.sha256((MODEL_DIR / rel).read_bytes()).hexdigest() == digest
    lines = (MODEL_DIR / MANIFEST_NAME).read_text().splitlines()
    assert lines == sorted(lines, key=lambda line: line.split("  ", 1)[1])


def test_write_manifest_round_trips_and_matches_sha256sum_format(tmp_path):
    bundle = copy_bundle(tmp_path / "model")
    original = (bundle / MANIFEST_NAME).read_text()
    (bundle / MANIFEST_NAME).unlink()
    write_manifest(bundle)
    assert (bundle / MANIFEST_NAME).read_text() == original
    assert read_manifest(bundle) == verify_manifest(bundle)


def _flip_one_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_an_altered_byte_in_model_skops_is_refused_by_name(tmp_path):
    bundle = copy_bundle(tmp_path / "model")
    _flip_one_byte(bundle / "model.skops")
    with pytest.raises(BundleError, match=r"model\.skops was altered or is corrupt"):
        verify_manifest(bundle)


def test_predictor_refuses_an_altered_bundle_without_deserializing(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", raising=False)
    bundle = copy_bundle(tmp_path / "model")
    _flip_one_byte(bundle / "model.skops")
    predictor = Predictor(PredictorConfig(), model_dir=bundle)
    with pytest.raises(BundleError) as info:
        predictor.predict(PLAN)
    assert "model.skops" in str(info.value) and "restore the bundle" in str(info.value)
    assert predictor.call_counts == {}
    # MLflow's deserialization switch is never turned on.
    assert "MLFLOW_ALLOW_PICKLE_DESERIALIZATION" not in os.environ


def test_an_altered_mlmodel_is_refused_before_its_metadata_is_used(tmp_path):
    bundle = copy_bundle(tmp_path / "model")
    mlmodel = bundle / "MLmodel"
    mlmodel.write_text(mlmodel.read_text() + "# edited by hand\n")
    with pytest.raises(BundleError, match="MLmodel was altered"):
        _ = Predictor(model_dir=bundle).levels


def test_a_missing_file_is_named(tmp_path):
    bundle = copy_bundle(tmp_path / "model")
    (bundle / "model.skops").unlink()
    with pytest.raises(BundleError, match=r"model\.skops is missing"):
        verify_manifest(bundle)


def test_a_missing_manifest_or_folder_is_named(tmp_path):
    bundle = copy_bundle(tmp_path / "model")
    (bundle / MANIFEST_NAME).unlink()
    with pytest.raises(BundleError, match=r"manifest\.sha256 is missing"):
        verify_manifest(bundle)
    with pytest.raises(BundleError, match="does not exist"):
        verify_manifest(tmp_path / "nowhere")


def test_an_unlisted_file_is_refused(tmp_path):
    bundle = copy_bundle(tmp_path / "model")
    (bundle / "extra.pkl").write_bytes(b"not part of the bundle")
    with pytest.raises(BundleError, match=r"extra\.pkl is not listed"):
        verify_manifest(bundle)


@pytest.mark.parametrize(
    "line",
    [
        "nothex  MLmodel",
        f"{'0' * 64}  ../outside",
        f"{'0' * 64}  /etc/passwd",
        f"{'0' * 64}  {MANIFEST_NAME}",
    ],
)
def test_malformed_manifest_lines_are_refused(tmp_path, line):
    bundle = copy_bundle(tmp_path / "model")
    manifest = bundle / MANIFEST_NAME
    manifest.write_text(manifest.read_text() + line + "\n")
    with pytest.raises(BundleError, match="malformed"):
        verify_manifest(bundle)


def _metadata_dict() -> dict:
    return BundleMetadata(
        features=list(FEATURE_COLUMNS),
        interval={"scale": {"offset": 1.0, "power": 0.5}, "quantiles": {"0.9": 1.5}},
    ).to_dict()


def test_metadata_record_round_trips_and_ignores_unknown_keys():
    data = {**_metadata_dict(), "added_later": 1}
    record = BundleMetadata.from_dict(data)
    assert record.interval["quantiles"] == {"0.9": 1.5}
    assert record.to_dict() == _metadata_dict()
    assert BundleMetadata.from_dict(record.to_dict()) == record


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"features": list(reversed(FEATURE_COLUMNS))}, "different features"),
        ({"features": "duration_days"}, "different features"),
        ({"interval": {"quantiles": {"0.9": 1.5}}}, "no valid interval"),
        (
            {"interval": {"scale": {"offset": 1, "power": 0.5}, "quantiles": {}}},
            "no valid interval",
        ),
        (
            {"interval": {"scale": {"offset": 1, "power": 0.5}, "quantiles": {"0.9": "x"}}},
            "no valid interval",
        ),
    ],
)
def test_metadata_record_refuses_what_the_predictor_cannot_use(change, message):
    with pytest.raises(BundleError, match=message):
        BundleMetadata.from_dict({**_metadata_dict(), **change})


def test_metadata_record_names_a_missing_entry():
    data = _metadata_dict()
    del data["interval"]
    with pytest.raises(BundleError, match="no 'interval' entry"):
        BundleMetadata.from_dict(data)


def test_verify_bundle_reads_the_committed_record():
    record = verify_bundle(MODEL_DIR)
    assert isinstance(record, BundleMetadata)
    assert record.features == FEATURE_COLUMNS
    assert set(record.interval["quantiles"]) == {"0.8", "0.9", "0.95"}


@pytest.mark.parametrize("preset", [None, "false"])
def test_load_bundle_never_turns_the_pickle_flag_on(monkeypatch, preset):
    if preset is None:
        monkeypatch.delenv(PICKLE_FLAG, raising=False)
    else:
        monkeypatch.setenv(PICKLE_FLAG, preset)
    bundle = load_bundle(MODEL_DIR)
    assert os.environ.get(PICKLE_FLAG) == preset
    frame = pd.DataFrame([PLAN.to_features()], columns=FEATURE_COLUMNS)
    points = bundle.predict_points(frame)
    assert points.shape == (1,) and np.isfinite(points).all()
    assert bundle.metadata == verify_bundle(MODEL_DIR)


def test_load_bundle_refuses_an_altered_bundle_before_loading(tmp_path, monkeypatch):
    monkeypatch.delenv(PICKLE_FLAG, raising=False)
    bundle = copy_bundle(tmp_path / "model")
    _flip_one_byte(bundle / "model.skops")
    with pytest.raises(BundleError, match=r"model\.skops was altered"):
        load_bundle(bundle)
    assert PICKLE_FLAG not in os.environ


def test_other_bundles_under_alternatives_are_outside_the_manifest(tmp_path):
    bundle = copy_bundle(tmp_path / "model")
    original = (bundle / MANIFEST_NAME).read_text()
    other = bundle / ALTERNATIVES_DIR / "other"
    other.mkdir(parents=True, exist_ok=True)
    (other / "MLmodel").write_text("another bundle\n")
    verify_manifest(bundle)  # not "unlisted"
    write_manifest(bundle)
    assert (bundle / MANIFEST_NAME).read_text() == original
    manifest = bundle / MANIFEST_NAME
    manifest.write_text(original + f"{'0' * 64}  {ALTERNATIVES_DIR}/other/MLmodel\n")
    with pytest.raises(BundleError, match="malformed"):
        verify_manifest(bundle)
