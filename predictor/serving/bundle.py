"""The model bundle contract: its folder, its manifest, its metadata record, and how it is loaded.

The manifest (``manifest.sha256``) is in ``sha256sum`` format, one line per file,
``<64 hex digits>  <path relative to the bundle>``, sorted by path. It covers every file of the
bundle except itself and the other bundles kept under ``alternatives/``. A bundle is only
deserialized after its manifest verified (:func:`load_bundle`).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from predictor.contract.features import FEATURE_COLUMNS
from predictor.serving.model_code.interval import Ranges, is_plan_aware, load_points

# The served (default) bundle, relative to the working directory.
DEFAULT_MODEL_DIR = Path("model")
# The bundles' names: the served Ridge bundle (the default) and the nonlinear alternative.
RIDGE = "ridge"
BOOSTING = "boosting"
DEFAULT_MODEL = RIDGE
# Other bundles live in their own folders under this one; the manifest leaves them out.
ALTERNATIVES_DIR = "alternatives"
MANIFEST_NAME = "manifest.sha256"
_LINE = re.compile(r"^([0-9a-f]{64})  (\S.*)$")
_PICKLE_FLAG = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
# Guards the process-wide deserialization flag while a bundle is loaded.
_LOAD_LOCK = threading.Lock()


class BundleError(RuntimeError):
    """The model bundle is missing, incomplete, altered or unreadable."""


def file_sha256(path: Path) -> str:
    """Hex SHA-256 digest of the file at ``path``."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _bundle_files(model_dir: Path) -> list[str]:
    """Relative POSIX paths of the bundle's files (not the manifest nor ``alternatives/``), sorted."""
    return sorted(
        rel
        for rel in (
            p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file()
        )
        if rel != MANIFEST_NAME and not _is_alternative(rel)
    )


def _is_alternative(rel: str) -> bool:
    return PurePosixPath(rel).parts[:1] == (ALTERNATIVES_DIR,)


def write_manifest(model_dir: str | Path) -> Path:
    """Write ``manifest.sha256`` covering every file in ``model_dir``; return its path."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise BundleError(f"model bundle folder {model_dir} does not exist")
    lines = [f"{file_sha256(model_dir / rel)}  {rel}\n" for rel in _bundle_files(model_dir)]
    manifest = model_dir / MANIFEST_NAME
    manifest.write_text("".join(lines), encoding="utf-8")
    return manifest


def read_manifest(model_dir: str | Path) -> dict[str, str]:
    """Parse the manifest of ``model_dir`` into ``{relative path: sha256 hex}``."""
    model_dir = Path(model_dir)
    manifest = model_dir / MANIFEST_NAME
    if not model_dir.is_dir():
        raise BundleError(
            f"model bundle folder {model_dir} does not exist; put the trained bundle there"
        )
    if not manifest.is_file():
        raise BundleError(
            f"{MANIFEST_NAME} is missing from {model_dir}; the bundle cannot be verified. "
            "Restore the bundle as trained, or re-create the manifest with write_manifest"
        )
    entries: dict[str, str] = {}
    try:
        text = manifest.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"{MANIFEST_NAME} in {model_dir} cannot be read ({exc})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        rel = match.group(2) if match else ""
        parts = PurePosixPath(rel).parts
        if (
            not match
            or PurePosixPath(rel).is_absolute()
            or ".." in parts
            or rel == MANIFEST_NAME
            or _is_alternative(rel)
            or rel in entries
        ):
            raise BundleError(f"{MANIFEST_NAME} line {number} is malformed")
        entries[rel] = match.group(1)
    if not entries:
        raise BundleError(f"{MANIFEST_NAME} in {model_dir} lists no files")
    return entries


def verify_manifest(model_dir: str | Path) -> dict[str, str]:
    """Check every file of ``model_dir`` against its manifest; return the manifest entries.

    Raises :class:`BundleError` naming the first file that is missing, altered, or not listed.
    """
    model_dir = Path(model_dir)
    entries = read_manifest(model_dir)
    for rel, expected in entries.items():
        path = model_dir / rel
        if not path.is_file():
            raise BundleError(
                f"model bundle file {rel} is missing from {model_dir}; restore the bundle as trained"
            )
        if file_sha256(path) != expected:
            raise BundleError(
                f"model bundle file {rel} was altered or is corrupt (its SHA-256 does not match "
                f"{MANIFEST_NAME}); restore the bundle as trained"
            )
    extra = [rel for rel in _bundle_files(model_dir) if rel not in entries]
    if extra:
        raise BundleError(
            f"model bundle file {extra[0]} is not listed in {MANIFEST_NAME}; remove it, "
            "or re-create the manifest if it belongs to the bundle"
        )
    return entries


@dataclass(frozen=True)
class BundleMetadata:
    """The metadata record of a bundle, stored under ``metadata`` in its ``MLmodel``.

    ``interval`` is the conformal calibration of :mod:`predictor.serving.model_code.interval`; ``training_range``
    maps each feature to the ``[min, max]`` seen in training. ``name`` is the bundle's key in
    :func:`predictor.serving.model_choice.available_models`; ``candidate`` is its name in the comparison.
    """

    features: list[str]
    interval: dict[str, Any]
    training_range: dict[str, list[float]] = field(default_factory=dict)
    model_version: str = ""
    created_at: str = ""
    seed: int | None = None
    data_fingerprint: str = ""
    served_params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    name: str = DEFAULT_MODEL
    display_name: str = "Ridge + SelectKBest"
    candidate: str = "ridge_selectkbest"

    def __post_init__(self) -> None:
        if not isinstance(self.features, list | tuple) or list(self.features) != FEATURE_COLUMNS:
            raise BundleError(
                "the bundle's model was trained on different features than FEATURE_COLUMNS; "
                "retrain it or use a matching predictor version"
            )
        interval = self.interval
        quantiles = interval.get("quantiles") if isinstance(interval, Mapping) else None
        scale = interval.get("scale") if isinstance(interval, Mapping) else None
        if (
            not isinstance(quantiles, Mapping)
            or not quantiles
            or not isinstance(scale, Mapping)
            or not {"offset", "power"} <= scale.keys()
            or not all(_finite(v) for v in (*quantiles.values(), *scale.values()))
            or (is_plan_aware(interval) and not _valid_difficulty(interval["difficulty"]))
        ):
            raise BundleError("the bundle's MLmodel metadata has no valid interval calibration")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> BundleMetadata:
        """The record from ``MLmodel`` metadata; unknown keys are ignored, missing ones defaulted."""
        data = dict(data or {})
        for required in ("features", "interval"):
            if required not in data:
                raise BundleError(f"the bundle's MLmodel metadata has no {required!r} entry")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        """Plain, YAML- and JSON-serializable form for ``MLmodel``."""
        return asdict(self)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _valid_difficulty(terms: Mapping[str, Any]) -> bool:
    """The plan-aware part of a calibration: finite terms, a plain file name, a known column."""
    pairs = [terms.get("distance_terms"), terms.get("distance_clip")]
    return (
        all(isinstance(p, list | tuple) and len(p) == 2 and all(map(_finite, p)) for p in pairs)
        and _finite(terms.get("ads_power"))
        and isinstance(terms.get("neighbours"), int)
        and terms["neighbours"] >= 1
        and terms.get("ads_column") in FEATURE_COLUMNS
        and isinstance(terms.get("file"), str)
        and PurePosixPath(terms["file"]).name == terms["file"]
    )


def bundle_ranges(model_dir: str | Path, metadata: BundleMetadata) -> Ranges:
    """The bundle's calibrated range, with its training points when plan-aware (read as JSON;
    call after the manifest verified)."""
    try:
        return Ranges(metadata.interval, load_points(model_dir, metadata.interval))
    except (OSError, ValueError) as exc:
        raise BundleError(f"the training points of {model_dir} cannot be read ({exc})") from None


def verify_bundle(model_dir: str | Path) -> BundleMetadata:
    """Check the bundle's manifest, then read its metadata record; nothing is deserialized.

    Raises :class:`BundleError` naming what is missing, altered or invalid.
    """
    from mlflow.models import Model

    model_dir = Path(model_dir)
    verify_manifest(model_dir)
    try:
        metadata = Model.load(str(model_dir / "MLmodel")).metadata
    except Exception as exc:
        raise BundleError(f"MLmodel in {model_dir} cannot be read ({exc})") from None
    return BundleMetadata.from_dict(metadata)


@dataclass(frozen=True)
class LoadedBundle:
    """A verified, loaded bundle: its metadata, its MLflow pyfunc, and a point-prediction function.

    ``predict_points`` skips pyfunc's per-call conversion when the bundle holds a scikit-learn
    model: it is the pipeline's own ``predict`` (a 1-D array of expected purchases). ``ranges``
    turns predictions into the bundle's calibrated ranges.
    """

    path: Path
    metadata: BundleMetadata
    pyfunc: Any
    predict_points: Callable[[Any], np.ndarray]
    ranges: Ranges


def load_bundle(model_dir: str | Path = DEFAULT_MODEL_DIR) -> LoadedBundle:
    """Verify the bundle's manifest, then load it with MLflow.

    MLflow only deserializes a model while ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION`` allows it; the
    flag is turned on for the duration of this load only (the manifest just verified the bytes),
    under a lock, and restored after.
    """
    import mlflow.pyfunc

    model_dir = Path(model_dir)
    metadata = verify_bundle(model_dir)
    ranges = bundle_ranges(model_dir, metadata)
    with _LOAD_LOCK:
        previous = os.environ.get(_PICKLE_FLAG)
        os.environ[_PICKLE_FLAG] = "true"
        try:
            model = mlflow.pyfunc.load_model(str(model_dir))
        except Exception as exc:
            raise BundleError(
                f"the model in {model_dir} cannot be loaded ({type(exc).__name__}: "
                f"{str(exc)[:200]})"
            ) from exc
        finally:
            if previous is None:
                os.environ.pop(_PICKLE_FLAG, None)
            else:
                os.environ[_PICKLE_FLAG] = previous
    try:
        predict_points = model.get_raw_model().predict
    except (NotImplementedError, AttributeError):
        predict_points = _points_of(model.predict)
    return LoadedBundle(model_dir, metadata, model, predict_points, ranges)


def _points_of(predict: Callable[[Any], Any]) -> Callable[[Any], np.ndarray]:
    """Point predictions from a pyfunc that answers numbers or a frame with ``prediction``."""

    def points(frame: Any) -> np.ndarray:
        out = predict(frame)
        if hasattr(out, "columns") and "prediction" in out.columns:
            out = out["prediction"]
        return np.asarray(out, dtype=float).reshape(-1)

    return points
