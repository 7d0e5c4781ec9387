"""The voting ensemble's model as plain numbers, so that it answers without skops.

Loading the ensemble from its skops file costs a fresh process about a second more than its
arithmetic needs: importing skops (it imports every estimator it knows) and rebuilding every
object of the pipeline. The ensemble is the mean of three members: the Ridge on log purchases
(the numbers of :mod:`predictor.serving.linear_file`), gradient boosting (a constant plus the
learning rate times each tree's leaf value) and a random forest (the mean of its trees). Training
writes these numbers into the bundle as :data:`TREES_FILE` (plain JSON, listed in the manifest
like every file), checked against the model's own ``predict``.

Each tree is its node arrays. They are checked before use: a child comes after its parent and
inside the tree, and a split's column is one of the model's, so walking a tree always ends at a
leaf. The trees are then scikit-learn's own compiled ``Tree`` objects, which walk rows outside the
interpreter lock, so the answers are the model's own to the last bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from predictor.serving.fast_points import in_blocks
from predictor.serving.linear_file import TOLERANCE, LinearFileError, LinearPoints, column_positions

TREES_FILE = "trees.json"
FORMAT = 1
# A leaf's children in scikit-learn's node arrays.
LEAF = -1
NODE_FIELDS = ("left", "right", "feature", "threshold", "value")


class TreeFileError(ValueError):
    """The trees file is not a valid record of the ensemble."""


@dataclass(frozen=True)
class TreeNodes:
    """One regression tree as scikit-learn stores it: node ``i`` splits on ``feature[i]`` at
    ``threshold[i]`` (``<=`` goes left), or is a leaf (children -1) worth ``value[i]``."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray

    @classmethod
    def from_record(cls, record: object, n_features: int) -> TreeNodes:
        """The checked nodes of a record; :class:`TreeFileError` if they could misroute a row."""
        if not isinstance(record, Mapping):
            raise TreeFileError("a tree is not an object")
        try:
            ints = [np.asarray(record[k]) for k in ("left", "right", "feature")]
            floats = [np.asarray(record[k], dtype=float) for k in ("threshold", "value")]
        except (KeyError, TypeError, ValueError) as exc:
            raise TreeFileError(f"a tree is incomplete ({exc})") from None
        n = len(floats[1])
        if n == 0 or any(a.shape != (n,) for a in (*ints, *floats)):
            raise TreeFileError("a tree's node arrays are empty or of different lengths")
        if any(a.dtype.kind not in "iu" for a in ints):
            raise TreeFileError("a tree's children and split columns must be whole numbers")
        left, right, feature = (a.astype(np.int64) for a in ints)
        leaf = left == LEAF
        node = np.arange(n)
        split = ~leaf
        if (
            (right[leaf] != LEAF).any()
            or ((left[split] <= node[split]) | (left[split] >= n)).any()
            or ((right[split] <= node[split]) | (right[split] >= n)).any()
            or ((feature[split] < 0) | (feature[split] >= n_features)).any()
        ):
            raise TreeFileError("a tree's nodes do not form a tree over the model's columns")
        if not np.isfinite(floats[0][split]).all() or not np.isfinite(floats[1]).all():
            raise TreeFileError("a tree holds numbers that are not finite")
        return cls(left, right, feature, *floats)

    def record(self) -> dict[str, list]:
        """The plain, JSON-ready record."""
        return {
            "left": [int(v) for v in self.left],
            "right": [int(v) for v in self.right],
            "feature": [int(v) for v in self.feature],
            "threshold": [float(v) for v in self.threshold],
            "value": [float(v) for v in self.value],
        }

    def depth(self) -> int:
        """The longest path from the root to a leaf, in splits."""
        depth = np.zeros(len(self.value), dtype=np.int64)
        # Children come after their parent, so one pass in order sets every depth.
        for i in np.flatnonzero(self.left != LEAF):
            depth[self.left[i]] = depth[self.right[i]] = depth[i] + 1
        return int(depth.max())

    def compiled(self, n_features: int) -> Any:
        """The tree as scikit-learn's ``Tree`` over ``n_features`` columns: ``predict`` on float32
        rows gives each row's leaf value."""
        from sklearn.tree._tree import NODE_DTYPE, Tree

        n = len(self.value)
        nodes = np.zeros(n, dtype=NODE_DTYPE)
        nodes["left_child"], nodes["right_child"] = self.left, self.right
        nodes["feature"], nodes["threshold"] = self.feature, self.threshold
        tree = Tree(n_features, np.ones(1, dtype=np.intp), 1)
        tree.__setstate__(
            {
                "max_depth": self.depth(),
                "node_count": n,
                "nodes": nodes,
                "values": np.ascontiguousarray(self.value.reshape(n, 1, 1)),
            }
        )
        return tree


def _trees(record: Mapping[str, Any], n_features: int) -> list[TreeNodes]:
    trees = record.get("trees")
    if not isinstance(trees, list) or not trees:
        raise TreeFileError("a tree member has no trees")
    return [TreeNodes.from_record(tree, n_features) for tree in trees]


def _number(record: Mapping[str, Any], key: str) -> float:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TreeFileError(f"a member's {key} is not a finite number")
    return float(value)


@dataclass(frozen=True)
class Member:
    """One member of the vote: ``kind`` is ``linear``, ``boosting`` or ``forest``."""

    kind: str
    linear: LinearPoints | None = None
    trees: tuple[TreeNodes, ...] = ()
    init: float = 0.0
    learning_rate: float = 1.0

    @classmethod
    def from_record(cls, record: object, columns: Sequence[str]) -> Member:
        if not isinstance(record, Mapping):
            raise TreeFileError("a member is not an object")
        kind = record.get("kind")
        if kind == "linear":
            try:
                linear = LinearPoints.from_record(record)
            except LinearFileError as exc:
                raise TreeFileError(f"the linear member: {exc}") from None
            if not set(linear.columns) <= set(columns):
                raise TreeFileError("the linear member uses columns the model does not have")
            return cls("linear", linear=linear)
        if kind == "boosting":
            trees = tuple(_trees(record, len(columns)))
            init, rate = _number(record, "init"), _number(record, "learning_rate")
            return cls("boosting", trees=trees, init=init, learning_rate=rate)
        if kind == "forest":
            return cls("forest", trees=tuple(_trees(record, len(columns))))
        raise TreeFileError(f"unknown member kind {str(kind)[:40]!r}")

    def record(self) -> dict[str, Any]:
        """The plain, JSON-ready record."""
        if self.linear is not None:
            return {"kind": self.kind, **self.linear.record()}
        extra = (
            {"init": self.init, "learning_rate": self.learning_rate}
            if self.kind == "boosting"
            else {}
        )
        return {"kind": self.kind, **extra, "trees": [tree.record() for tree in self.trees]}

    def steps(self, columns: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
        """Expected purchases of rows of ``columns``' values (float64, in that order)."""
        if self.linear is not None:
            linear, where = self.linear, column_positions(self.linear.columns, tuple(columns))
            return lambda X: linear.on_values(X[:, where])
        trees = [tree.compiled(len(columns)) for tree in self.trees]
        if self.kind == "boosting":
            init, rate = self.init, self.learning_rate

            def boosting(X: np.ndarray) -> np.ndarray:
                X32 = np.ascontiguousarray(X, dtype=np.float32)
                total = np.full(len(X), init)
                for tree in trees:  # in order, as scikit-learn adds its stages
                    total += rate * tree.predict(X32)[:, 0]
                return total

            return boosting

        def forest(X: np.ndarray) -> np.ndarray:
            X32 = np.ascontiguousarray(X, dtype=np.float32)
            total = np.zeros(len(X))
            for tree in trees:
                total += tree.predict(X32)[:, 0]
            return total / len(trees)

        return forest


class TreePoints:
    """Expected purchases from the ensemble's numbers: the (weighted) mean of its members.

    Called like the model's ``predict`` on a table with :attr:`columns`.
    """

    def __init__(
        self, columns: Sequence[str], members: Sequence[Member], weights: Sequence[float] | None
    ) -> None:
        self.columns = tuple(columns)
        self.members = tuple(members)
        self.weights = None if weights is None else np.asarray(weights, dtype=float)
        # Built on first use: rebuilding the trees imports scikit-learn's tree module.
        self._steps: Callable[[np.ndarray], np.ndarray] | None = None

    @classmethod
    def from_record(cls, record: object) -> TreePoints:
        """The points of a :data:`TREES_FILE` record; :class:`TreeFileError` if invalid."""
        if not isinstance(record, Mapping) or record.get("format") != FORMAT:
            raise TreeFileError(f"the trees record is not format {FORMAT}")
        columns = record.get("columns")
        members = record.get("members")
        if (
            not isinstance(columns, list)
            or not columns
            or not all(isinstance(c, str) for c in columns)
        ):
            raise TreeFileError("the trees record has no list of column names")
        if not isinstance(members, list) or not members:
            raise TreeFileError("the trees record has no members")
        weights = record.get("weights")
        if weights is not None and (
            not isinstance(weights, list)
            or len(weights) != len(members)
            or not all(_finite_weight(w) for w in weights)
            or not sum(weights) > 0
        ):
            raise TreeFileError("the trees record's weights must be one number ≥ 0 per member")
        return cls(columns, [Member.from_record(m, columns) for m in members], weights)

    def record(self) -> dict[str, Any]:
        """The plain, JSON-ready record."""
        return {
            "format": FORMAT,
            "columns": list(self.columns),
            "weights": None if self.weights is None else [float(w) for w in self.weights],
            "members": [member.record() for member in self.members],
        }

    def build(self) -> TreePoints:
        """Rebuild the trees now (they are otherwise rebuilt on first use); returns itself."""
        if self._steps is None:
            parts = [member.steps(self.columns) for member in self.members]
            weights = self.weights

            def vote(X: np.ndarray) -> np.ndarray:
                answers = np.asarray([part(X) for part in parts]).T
                return np.average(answers, axis=1, weights=weights)

            self._steps = vote
        return self

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        """Expected purchases for each row of ``frame`` (a table with :attr:`columns`)."""
        steps = self.build()._steps
        assert steps is not None
        values = frame.to_numpy(dtype=float)[
            :, column_positions(self.columns, tuple(frame.columns))
        ]
        return in_blocks(steps, values)

    def agrees_with(self, predict: Any, rows: pd.DataFrame) -> bool:
        """Whether these numbers give ``predict``'s answers on ``rows``."""
        ours = self(rows)
        theirs = np.asarray(predict(rows), dtype=float).reshape(-1)
        return ours.shape == theirs.shape and bool(
            np.allclose(ours, theirs, rtol=TOLERANCE, atol=TOLERANCE)
        )


def _finite_weight(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )
