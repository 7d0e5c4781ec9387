"""The model bundle contract: its folder, its manifest, its metadata record, and how it is loaded.

The manifest (``manifest.sha256``) is in ``sha256sum`` format, one line per file,
``<64 hex digits>  <path relative to the bundle>``, sorted by path. It covers every file of the
bundle except itself and the other bundles kept under ``alternatives/``. A bundle is only
deserialized after its manifest verified and its manifest's digest is pinned (or trusted on
purpose), and only from its skops file with the types fixed in
:mod:`predictor.serving.bundle_trust`: the app never unpickles and never imports a bundle's
``code/`` (that package is for ``mlflow models serve`` and Databricks Model Serving).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import yaml

from predictor.contract.features import FEATURE_COLUMNS
from predictor.serving.bundle_trust import TRUST_SETTING, TRUSTED_TYPES, pinned_manifests
from predictor.serving.linear_file import LINEAR_FILE, LinearPoints
from predictor.serving.model_code.interval import (
    POINTS_FILE,
    Ranges,
    TrainingPoints,
    is_plan_aware,
)
from predictor.serving.tree_file import TREES_FILE, TreePoints

log = logging.getLogger(__name__)

# The served (default) bundle, relative to the working directory.
DEFAULT_MODEL_DIR = Path("model")
# The bundles' names: the served Ridge bundle (the default) and the nonlinear alternative.
RIDGE = "ridge"
BOOSTING = "boosting"
DEFAULT_MODEL = RIDGE
# Other bundles live in their own folders under this one; the manifest leaves them out.
ALTERNATIVES_DIR = "alternatives"
MANIFEST_NAME = "manifest.sha256"
# The only model file and format the app loads.
SKOPS_FILE = "model.skops"
SKOPS_FORMAT = "skops"
_LINE = re.compile(r"^([0-9a-f]{64})  (\S.*)$")
_RETRAIN = "re-export it with python -m training train"


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
    return _parse_manifest(Path(model_dir))[0]


def _parse_manifest(model_dir: Path) -> tuple[dict[str, str], str]:
    """The manifest's entries, and the SHA-256 of the very bytes they were parsed from."""
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
        data = manifest.read_bytes()
        text = data.decode("utf-8")
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
    return entries, hashlib.sha256(data).hexdigest()


def verify_manifest(model_dir: str | Path) -> dict[str, str]:
    """Check every file of ``model_dir`` against its manifest; return the manifest entries.

    Raises :class:`BundleError` naming the first file that is missing, altered, or not listed.
    """
    return _verify_manifest(Path(model_dir))[0]


def _verify_manifest(model_dir: Path) -> tuple[dict[str, str], str]:
    """:func:`verify_manifest`, also answering the manifest's own digest."""
    entries, digest = _parse_manifest(model_dir)
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
    return entries, digest


def manifest_digest(model_dir: str | Path) -> str:
    """SHA-256 of the bundle's ``manifest.sha256``: the digest the shipped bundles are pinned by."""
    return _parse_manifest(Path(model_dir))[1]


def check_pinned(model_dir: Path, digest: str, trust_unpinned: bool = False) -> str | None:
    """The name of the shipped bundle whose pin ``digest`` is, or None if trusted on purpose.

    Raises :class:`BundleError` for an unpinned bundle unless ``trust_unpinned``.
    """
    for name, pinned in pinned_manifests().items():
        if digest == pinned:
            return name
    if not trust_unpinned:
        raise BundleError(
            f"the model bundle in {model_dir} is not one of the bundles shipped with this version "
            f"(its {MANIFEST_NAME} has SHA-256 {digest[:12]}…, which is not pinned in "
            f"predictor/serving/bundle_pins.py). To serve it anyway, set {TRUST_SETTING}=1; if "
            "you retrained the shipped bundles on purpose, run python -m training pin"
        )
    log.info("serving the unpinned bundle in %s (%s is set)", model_dir, TRUST_SETTING)
    return None


def _read_verified(model_dir: Path, rel: str, entries: Mapping[str, str]) -> bytes:
    """The bytes of ``rel``, checked against the manifest as read (not a second look at disk)."""
    if rel not in entries:
        raise BundleError(f"{MANIFEST_NAME} in {model_dir} does not list {rel}; {_RETRAIN}")
    try:
        data = (model_dir / rel).read_bytes()
    except OSError as exc:
        raise BundleError(f"model bundle file {rel} cannot be read ({exc.strerror})") from None
    if hashlib.sha256(data).hexdigest() != entries[rel]:
        raise BundleError(
            f"model bundle file {rel} was altered or is corrupt (its SHA-256 does not match "
            f"{MANIFEST_NAME}); restore the bundle as trained"
        )
    return data


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
            or (is_plan_aware(interval) and not _valid_difficulty(interval.get("difficulty")))
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


def _skops_flavor(record: Mapping[str, Any], model_dir: Path) -> None:
    """Refuse a bundle whose scikit-learn model is not the skops file the app loads."""
    flavors = record.get("flavors")
    flavor = flavors.get("sklearn") if isinstance(flavors, Mapping) else None
    if not isinstance(flavor, Mapping):
        raise BundleError(
            f"the MLmodel in {model_dir} has no scikit-learn model saved with skops, the only "
            f"kind the app loads; {_RETRAIN}"
        )
    stored = flavor.get("serialization_format")
    if stored != SKOPS_FORMAT:
        raise BundleError(
            f"the model in {model_dir} is stored as {str(stored)[:40]!r}; the app loads only "
            f"skops files (serialization_format: skops) and never unpickles a model; {_RETRAIN}"
        )
    if flavor.get("pickled_model") != SKOPS_FILE:
        raise BundleError(
            f"the MLmodel in {model_dir} names {str(flavor.get('pickled_model'))[:80]!r} as its "
            f"model file; the app loads only {SKOPS_FILE}; {_RETRAIN}"
        )


def _verified_record(
    model_dir: Path, trust_unpinned: bool
) -> tuple[dict[str, str], BundleMetadata]:
    """Manifest entries and metadata of a verified, pinned (or trusted), skops bundle."""
    entries, digest = _verify_manifest(model_dir)
    check_pinned(model_dir, digest, trust_unpinned)
    try:
        record = yaml.safe_load(_read_verified(model_dir, "MLmodel", entries).decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BundleError(f"MLmodel in {model_dir} cannot be read ({exc})") from None
    if not isinstance(record, Mapping):
        raise BundleError(f"MLmodel in {model_dir} is not an MLmodel record; {_RETRAIN}")
    _skops_flavor(record, model_dir)
    metadata = record.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise BundleError(f"the metadata in MLmodel of {model_dir} is not a record; {_RETRAIN}")
    return entries, BundleMetadata.from_dict(metadata)


def _valid_difficulty(terms: object) -> bool:
    """The plan-aware part of a calibration: finite terms, a plain file name, a known column."""
    if not isinstance(terms, Mapping):
        return False
    pairs = [terms.get("distance_terms"), terms.get("distance_clip")]
    return (
        all(isinstance(p, list | tuple) and len(p) == 2 and all(map(_finite, p)) for p in pairs)
        and _finite(terms.get("ads_power"))
        and isinstance(terms.get("neighbours"), int)
        and terms["neighbours"] >= 1
        and terms.get("ads_column") in FEATURE_COLUMNS
        and isinstance(terms.get("file", POINTS_FILE), str)
        and PurePosixPath(terms.get("file", POINTS_FILE)).name == terms.get("file", POINTS_FILE)
    )


def _ranges(model_dir: Path, metadata: BundleMetadata, entries: Mapping[str, str]) -> Ranges:
    """The bundle's calibrated range; a plan-aware one with its training points, read from the
    verified bytes as JSON."""
    if not is_plan_aware(metadata.interval):
        return Ranges(metadata.interval)
    name = metadata.interval["difficulty"].get("file", POINTS_FILE)
    try:
        record = json.loads(_read_verified(model_dir, name, entries).decode("utf-8"))
        return Ranges(metadata.interval, TrainingPoints.from_record(record))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(
            f"the training points of {model_dir} ({name}) cannot be read ({exc}); {_RETRAIN}"
        ) from None


def bundle_ranges(model_dir: str | Path, trust_unpinned: bool = False) -> Ranges:
    """The verified bundle's calibrated range, without loading its model."""
    model_dir = Path(model_dir)
    entries, metadata = _verified_record(model_dir, trust_unpinned)
    return _ranges(model_dir, metadata, entries)


# A model's plain numbers, checked against the model once it loads.
QuickPoints = LinearPoints | TreePoints
# The plain-number files a bundle may carry, and how each is read.
QUICK_FILES: dict[str, Callable[[object], QuickPoints]] = {
    LINEAR_FILE: LinearPoints.from_record,
    TREES_FILE: TreePoints.from_record,
}


def quick_file(points: QuickPoints) -> str:
    """The bundle file ``points`` were read from."""
    return TREES_FILE if isinstance(points, TreePoints) else LINEAR_FILE


@dataclass(frozen=True)
class QuickBundle:
    """What a verified bundle answers with before (or without) loading its model: its metadata,
    its range and its model's plain numbers, if it has them (:mod:`predictor.serving.linear_file`
    for the linear model, :mod:`predictor.serving.tree_file` for a tree ensemble)."""

    metadata: BundleMetadata
    ranges: Ranges
    points: QuickPoints | None


def quick_bundle(model_dir: str | Path, trust_unpinned: bool = False) -> QuickBundle:
    """Verify the bundle and read its plain files; neither scikit-learn nor skops is imported
    (a tree ensemble's trees are rebuilt on first use)."""
    model_dir = Path(model_dir)
    entries, metadata = _verified_record(model_dir, trust_unpinned)
    points = None
    for name, read in QUICK_FILES.items():
        if name not in entries:
            continue
        try:
            points = read(json.loads(_read_verified(model_dir, name, entries).decode("utf-8")))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BundleError(
                f"{name} in {model_dir} cannot be read ({str(exc)[:200]}); {_RETRAIN}"
            ) from None
        break
    return QuickBundle(metadata, _ranges(model_dir, metadata, entries), points)


def verify_bundle(model_dir: str | Path, trust_unpinned: bool = False) -> BundleMetadata:
    """Check the bundle's manifest, its pin and its format, then read its metadata record.

    Nothing is deserialized. ``trust_unpinned`` accepts a bundle whose manifest is not pinned
    (``PREDICTOR_TRUST_BUNDLE``). Raises :class:`BundleError` naming what is wrong.
    """
    return _verified_record(Path(model_dir), trust_unpinned)[1]


@dataclass(frozen=True)
class LoadedBundle:
    """A verified, loaded bundle: its metadata, its model, and a point-prediction function.

    ``pyfunc`` is the project's own :class:`~predictor.serving.model_code.pyfunc.IntervalModel`
    (the class a model server runs) around the pipeline: ``predict`` answers points and ranges,
    ``get_raw_model()`` the pipeline. ``predict_points`` is the pipeline's own ``predict`` (a 1-D
    array of expected purchases). ``ranges`` turns predictions into the calibrated ranges.
    """

    path: Path
    metadata: BundleMetadata
    pyfunc: Any
    predict_points: Callable[[Any], np.ndarray]
    ranges: Ranges


def load_bundle(
    model_dir: str | Path = DEFAULT_MODEL_DIR, trust_unpinned: bool = False
) -> LoadedBundle:
    """Verify the bundle (:func:`verify_bundle`), then load its skops file with the fixed types.

    The bytes loaded are the bytes verified. Neither MLflow nor the bundle's ``code/`` is
    imported, and no process-wide setting is changed.
    """
    # scikit-learn (and with it scipy.special) before skops: when skops is imported it looks each
    # scipy.special function up in every module loaded before that one, in import order, so the
    # fewer come first the less it costs (about 0.6 s of CPU in a fresh process).
    import sklearn  # noqa: F401
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    from predictor.serving.model_code.pyfunc import IntervalModel

    model_dir = Path(model_dir)
    entries, metadata = _verified_record(model_dir, trust_unpinned)
    data = _read_verified(model_dir, SKOPS_FILE, entries)
    try:
        pipeline = skops.io.loads(data, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException as exc:
        found = (str(exc).splitlines() or [""])[0].removeprefix(
            "Untrusted types found in the file: "
        )
        raise BundleError(
            f"the model in {model_dir} holds types the app does not trust: {found[:300]}; "
            f"it was not built by this project's training; {_RETRAIN}"
        ) from None
    except Exception as exc:
        raise BundleError(
            f"the model in {model_dir} cannot be loaded ({type(exc).__name__}: "
            f"{str(exc)[:200]}); {_RETRAIN}"
        ) from None
    if not callable(getattr(pipeline, "predict", None)):
        raise BundleError(f"the model in {model_dir} has no predict method; {_RETRAIN}")
    ranges = _ranges(model_dir, metadata, entries)
    model = IntervalModel(pipeline, metadata.interval, ranges.points)
    return LoadedBundle(model_dir, metadata, model, pipeline.predict, ranges)
