"""What the app trusts in a model bundle: the types its skops file may hold, and which bundles.

A bundle folder is data, never code: the app loads its ``model.skops`` with the fixed list of
types below (skops refuses any other), and never imports the bundle's ``code/`` nor unpickles.
The shipped bundles are pinned by the SHA-256 of their ``manifest.sha256`` (which lists the
digest of every file), in :mod:`predictor.serving.bundle_pins`; serving any other bundle takes
``PREDICTOR_TRUST_BUNDLE=1``. Training rewrites the pins when it writes the shipped folder.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

# The types of the Ridge pipeline beyond skops' own trusted set, reviewed one by one.
SKOPS_TRUSTED_TYPES: tuple[str, ...] = (
    "functools.partial",
    "numpy.asarray",
    "sklearn.feature_selection._mutual_info.mutual_info_regression",
)
# The nonlinear alternative adds its trees and the ensemble's bunch of named members. skops warns
# that a crafted Tree can crash ``predict``: the pins are what keep a foreign one out.
TREE_TRUSTED_TYPES: tuple[str, ...] = (
    *SKOPS_TRUSTED_TYPES,
    "sklearn.tree._tree.Tree",
    "sklearn.utils._bunch.Bunch",
)
# Every bundle is loaded with this list; it is never read from the bundle's MLmodel.
TRUSTED_TYPES: tuple[str, ...] = TREE_TRUSTED_TYPES

# The setting that lets the app serve a bundle whose manifest is not pinned.
TRUST_SETTING = "PREDICTOR_TRUST_BUNDLE"
PIN_FILE = Path(__file__).with_name("bundle_pins.py")
# The folder of the shipped bundles in a checkout of the project: training pins what it writes here.
SHIPPED_MODEL_DIR = Path(__file__).resolve().parents[2] / "model"

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_PIN_HEADER = '''"""SHA-256 of each shipped bundle's manifest.sha256, by bundle name: the bundles the app serves
without PREDICTOR_TRUST_BUNDLE (see predictor/serving/bundle_trust.py).

Written by ``python -m training train`` when it writes model/, and by ``python -m training pin``;
tests/test_bundle_trust.py checks it against model/. Not edited by hand.
"""

PINNED_MANIFESTS: dict[str, str] = {
'''


def pinned_manifests() -> dict[str, str]:
    """The pinned manifest digests, by bundle name."""
    from predictor.serving.bundle_pins import PINNED_MANIFESTS

    return dict(PINNED_MANIFESTS)


def pins_text(pins: Mapping[str, str]) -> str:
    """The source of :mod:`predictor.serving.bundle_pins` holding ``pins`` (sorted by name)."""
    body = "".join(f'    "{name}": "{digest}",\n' for name, digest in sorted(pins.items()))
    return f"{_PIN_HEADER}{body}}}\n"


def write_pins(pins: Mapping[str, str], path: Path = PIN_FILE) -> Path:
    """Write ``pins`` to the pin module at ``path`` through a temporary file; return the path."""
    for name, digest in pins.items():
        if not (_NAME.fullmatch(name) and _DIGEST.fullmatch(digest)):
            raise ValueError(f"cannot pin bundle {name!r} to digest {digest!r}")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".bundle_pins.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(pins_text(pins))
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
