"""Export the served model as an MLflow pyfunc bundle: skops, signature, metadata, manifest, card."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import re
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from predictor.contract.features import FEATURE_COLUMNS
from predictor.planning.explain import ExplainError, linear_terms
from predictor.serving import bundle_trust
from predictor.serving.bundle import (
    ALTERNATIVES_DIR,
    BOOSTING,
    DEFAULT_MODEL_DIR,
    RIDGE,
    BundleError,
    BundleMetadata,
    manifest_digest,
    verify_manifest,
    write_manifest,
)
from predictor.serving.fast_points import sample_rows
from predictor.serving.linear_file import LINEAR_FILE, LinearPoints
from predictor.serving.model_code import pyfunc
from predictor.serving.model_code.interval import POINTS_FILE, TrainingPoints, is_plan_aware
from predictor.serving.model_code.pyfunc import interval_frame
from predictor.serving.tree_file import TREES_FILE, Member, TreeNodes, TreePoints
from training import config
from training.models import DISPLAY_NAMES, SERVED_NAME

if TYPE_CHECKING:
    from training.train import Alternative

# The types skops is told to trust, fixed in predictor/ (the app loads with the same list): the
# served pipeline's, and the alternative's trees on top of those.
SKOPS_TRUSTED_TYPES: list[str] = list(bundle_trust.SKOPS_TRUSTED_TYPES)
TREE_TRUSTED_TYPES: list[str] = list(bundle_trust.TREE_TRUSTED_TYPES)
RUNTIME_PACKAGES: tuple[str, ...] = ("mlflow-skinny", "scikit-learn", "skops", "pandas", "numpy")
# The bundle's own code: predictor/serving/model_code/, copied byte for byte as this package.
SERVING_PACKAGE = "campaign_model"
SERVING_MODULES: tuple[str, ...] = ("__init__.py", "interval.py", "pyfunc.py")


def pip_requirements() -> list[str]:
    """The runtime packages, pinned to the versions the model was trained with."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in RUNTIME_PACKAGES]


def normalize_skops(path: Path) -> None:
    """Rewrite a skops file so that the same model always gives the same bytes.

    skops names arrays and memo entries after ``id()`` of the objects, which changes from run to
    run; they are renumbered in order of appearance, and the zip gets fixed timestamps.
    """
    with zipfile.ZipFile(path) as src:
        entries = {info.filename: src.read(info.filename) for info in src.infolist()}
    schema = entries.pop("schema.json").decode()
    mapping: dict[str, str] = {}

    def renumber(match: re.Match) -> str:
        return (
            match.group(1)
            + mapping.setdefault(match.group(2), str(len(mapping) + 1))
            + match.group(3)
        )

    schema = re.sub(r'("__id__": )(\d+)()', renumber, schema)
    schema = re.sub(r'("file": ")(\d+)(\.npy")', renumber, schema)
    renamed = {f"{mapping[name.removesuffix('.npy')]}.npy": data for name, data in entries.items()}
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, data in [("schema.json", schema.encode()), *sorted(renamed.items())]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)
    tmp.replace(path)


def serving_package(parent: Path) -> Path:
    """Write the ``campaign_model`` package (the bundle's code) into ``parent``; return its folder."""
    package = parent / SERVING_PACKAGE
    package.mkdir()
    for name in SERVING_MODULES:
        shutil.copyfile(Path(pyfunc.__file__).with_name(name), package / name)
    return package


def use_serving_pyfunc(bundle: Path) -> None:
    """Point the bundle's ``python_function`` flavor at :mod:`predictor.serving.model_code.pyfunc` (as copied).

    The ``sklearn`` flavor stays as saved, so the pipeline itself can still be loaded directly.
    """
    import mlflow.pyfunc
    from mlflow.models import Model

    mlmodel = Model.load(str(bundle / "MLmodel"))
    conf = mlmodel.flavors[mlflow.pyfunc.FLAVOR_NAME]
    mlflow.pyfunc.add_to_model(
        mlmodel,
        loader_module=f"{SERVING_PACKAGE}.pyfunc",
        data=conf["model_path"],
        code=conf["code"],
        conda_env=conf["env"]["conda"],
        python_env=conf["env"]["virtualenv"],
    )
    mlmodel.save(str(bundle / "MLmodel"))


def agreement_rows(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` and :func:`~predictor.serving.fast_points.sample_rows` spread over its range: the
    rows a model's plain numbers must answer as the model does (``X`` may be a 3-row example)."""
    X = X[FEATURE_COLUMNS].astype(float)
    spread = sample_rows(X.min().to_numpy(), X.max().to_numpy())
    return pd.concat([X, pd.DataFrame(spread, columns=FEATURE_COLUMNS)], ignore_index=True)


def linear_points(model, X: pd.DataFrame) -> LinearPoints | None:
    """The served Ridge model's numbers (:mod:`predictor.serving.linear_file`), checked to give
    its own answers on ``X``; ``None`` for another model."""
    try:
        terms = linear_terms(model)
    except ExplainError:
        return None
    scaler = model.regressor_.named_steps["scale"]
    scale = getattr(scaler, "scale_", None)
    points = LinearPoints(
        columns=terms.columns,
        logged=terms.logged,
        mean=np.asarray(terms.average, dtype=float),
        scale=np.ones(len(terms.columns)) if scale is None else np.asarray(scale, dtype=float),
        weights=terms.weights,
        intercept=terms.intercept,
    )
    return points if points.agrees_with(model.predict, agreement_rows(X)) else None


def write_linear_file(model, X: pd.DataFrame, folder: Path) -> bool:
    """Write :data:`LINEAR_FILE` into ``folder`` when ``model`` is the linear one; whether it was."""
    points = linear_points(model, X)
    if points is not None:
        text = json.dumps(points.record(), separators=(",", ":"))
        (folder / LINEAR_FILE).write_text(text + "\n", encoding="utf-8")
    return points is not None


def _tree_nodes(estimator) -> TreeNodes:
    tree = estimator.tree_
    return TreeNodes(
        left=np.asarray(tree.children_left, dtype=np.int64),
        right=np.asarray(tree.children_right, dtype=np.int64),
        feature=np.asarray(tree.feature, dtype=np.int64),
        threshold=np.asarray(tree.threshold, dtype=float),
        value=np.asarray(tree.value[:, 0, 0], dtype=float),
    )


def _member(estimator, X: pd.DataFrame) -> Member | None:
    """One model of the vote as plain numbers, or ``None`` for a kind the trees file lacks."""
    kind = type(estimator).__name__
    if kind == "TransformedTargetRegressor":
        linear = linear_points(estimator, X)
        return None if linear is None else Member("linear", linear=linear)
    if kind == "GradientBoostingRegressor":
        init = getattr(estimator, "init_", None)
        constant = np.ravel(getattr(init, "constant_", []))
        if estimator.loss != "squared_error" or constant.shape != (1,):
            return None
        trees = tuple(_tree_nodes(stage[0]) for stage in estimator.estimators_)
        return Member(
            "boosting",
            trees=trees,
            init=float(constant[0]),
            learning_rate=float(estimator.learning_rate),
        )
    if kind == "RandomForestRegressor" and estimator.n_outputs_ == 1:
        return Member("forest", trees=tuple(_tree_nodes(tree) for tree in estimator.estimators_))
    return None


def tree_points(model, X: pd.DataFrame) -> TreePoints | None:
    """The tree ensemble's numbers (:mod:`predictor.serving.tree_file`), checked to give its own
    answers on ``X``; ``None`` for another model (a vote, boosting or a forest on
    ``FEATURE_COLUMNS``)."""
    if list(getattr(model, "feature_names_in_", [])) != FEATURE_COLUMNS:
        return None
    X = agreement_rows(X)
    voting = type(model).__name__ == "VotingRegressor"
    members = [_member(est, X) for est in (model.estimators_ if voting else [model])]
    if any(m is None for m in members) or not any(m.trees for m in members):  # type: ignore[union-attr]
        return None
    weights = getattr(model, "_weights_not_none", None) if voting else None
    points = TreePoints(FEATURE_COLUMNS, members, weights)  # type: ignore[arg-type]
    return points if points.agrees_with(model.predict, X) else None


def write_tree_file(model, X: pd.DataFrame, folder: Path) -> bool:
    """Write :data:`TREES_FILE` into ``folder`` when ``model`` is a tree ensemble; whether it was."""
    points = tree_points(model, X)
    if points is not None:
        text = json.dumps(points.record(), separators=(",", ":"))
        (folder / TREES_FILE).write_text(text + "\n", encoding="utf-8")
    return points is not None


def save_bundle(
    model,
    X: pd.DataFrame,
    metadata: BundleMetadata,
    model_dir: str | Path = DEFAULT_MODEL_DIR,
    card: str | None = None,
    trusted_types: list[str] = SKOPS_TRUSTED_TYPES,
    points: TrainingPoints | None = None,
) -> Path:
    """Save ``model`` as an MLflow sklearn/pyfunc bundle in ``model_dir`` (replaced atomically).

    ``metadata`` is stored in MLmodel; ``card`` becomes README.md; a plan-aware calibration's
    training ``points`` become ``difficulty.json``; a linear model's numbers become
    ``linear.json`` and a tree ensemble's ``trees.json``, with which the app answers without
    loading the model. A SHA-256 manifest is written last, so a
    bundle with a manifest is complete. Other bundles kept in the folder's ``alternatives/``
    stay. ``trusted_types`` must list every type skops does not trust itself (MLflow refuses to
    save the model otherwise).
    """
    if is_plan_aware(metadata.interval) and points is None:
        raise ValueError("a plan-aware calibration needs its training points in the bundle")
    import mlflow.sklearn
    from mlflow.models import infer_signature

    target = Path(model_dir)
    staging = target.with_name(target.name + ".staging")
    if staging.exists():
        shutil.rmtree(staging)
    X = X[FEATURE_COLUMNS].astype(float)
    example = X.head(3)
    pred = np.asarray(model.predict(example), dtype=float)
    answer = interval_frame(pred, metadata.interval, example, points)
    with warnings.catch_warnings():
        # The bounds are whole numbers and never missing: integer columns are what they are.
        warnings.filterwarnings("ignore", "Hint: Inferred schema contains integer", UserWarning)
        signature = infer_signature(example, answer)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            mlflow.sklearn.save_model(
                model,
                str(staging),
                serialization_format="skops",
                skops_trusted_types=trusted_types,
                signature=signature,
                input_example=example,
                pip_requirements=pip_requirements(),
                metadata=metadata.to_dict(),
                code_paths=[str(serving_package(Path(tmp)))],
            )
        use_serving_pyfunc(staging)
        normalize_skops(staging / "model.skops")
        if points is not None and is_plan_aware(metadata.interval):
            text = json.dumps(points.record(), separators=(",", ":"))
            (staging / POINTS_FILE).write_text(text + "\n", encoding="utf-8")
        write_linear_file(model, X, staging)
        write_tree_file(model, X, staging)
        if card is not None:
            (staging / "README.md").write_text(card, encoding="utf-8")
        write_manifest(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    backup = target.with_name(target.name + ".previous")
    if target.exists():
        if (target / ALTERNATIVES_DIR).is_dir():
            (target / ALTERNATIVES_DIR).rename(staging / ALTERNATIVES_DIR)
        if backup.exists():
            shutil.rmtree(backup)
        target.rename(backup)
    staging.rename(target)
    if backup.exists():
        shutil.rmtree(backup)
    return target


def build_metadata(
    result, seed: int, evaluation: dict | None, alternative: Alternative | None = None
) -> BundleMetadata:
    """The metadata record of the Ridge bundle, or of ``alternative`` (see predictor/ for readers)."""
    metrics = dict(result.metrics)
    metrics.pop("mlflow_run_id", None)
    if alternative is not None:
        metrics["served"] = alternative.metrics
    if evaluation:
        metrics["evaluation"] = evaluation
    candidate = alternative.candidate if alternative else SERVED_NAME
    return BundleMetadata(
        features=list(FEATURE_COLUMNS),
        interval=alternative.calibration if alternative else result.calibration,
        training_range=result.training_range,
        model_version=config.MODEL_VERSION,
        created_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        seed=seed,
        data_fingerprint=result.fingerprint,
        served_params={} if alternative else result.best_params,
        metrics=metrics,
        name=BOOSTING if alternative else RIDGE,
        display_name=DISPLAY_NAMES[candidate],
        candidate=candidate,
    )


def pin_bundles(
    root: str | Path = DEFAULT_MODEL_DIR, pin_file: Path | None = None
) -> dict[str, str]:
    """Pin the bundles under ``root`` (each verified first): rewrite the pin module with the
    SHA-256 of each one's manifest, by name. Returns the pins written."""
    from predictor.serving.model_choice import available_models

    bundles = available_models(root)
    if not bundles:
        raise BundleError(f"no model bundle in {root} to pin; train first")
    pins = {}
    for name, folder in bundles.items():
        verify_manifest(folder)
        pins[name] = manifest_digest(folder)
    bundle_trust.write_pins(pins, pin_file or bundle_trust.PIN_FILE)
    return pins


def is_shipped_folder(model_dir: str | Path) -> bool:
    """Whether ``model_dir`` is this checkout's ``model/``, whose bundles the app serves pinned."""
    return Path(model_dir).resolve() == bundle_trust.SHIPPED_MODEL_DIR
