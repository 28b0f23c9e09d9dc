"""Every tree of a fitted gradient boosting ensemble, packed into flat arrays and walked at once.

scikit-learn finds a row's leaf one tree at a time (``apply`` loops over the trees in Python),
which costs milliseconds for a thousand trees. Packing the trees' nodes into one set of arrays
lets numpy move every (row, tree) pair one level down per step, so a row's path through all the
trees takes ``max_depth`` steps of array operations; the same trees packed by ``tree_arrays``
(the ones the prices use) find the leaves faster still, in blocks of houses or, for one house,
by pattern codes, and are used where they are given.

The contribution of a split (Saabas' method) is the change in node value from a node to the
child the row goes to, credited to the feature the node splits on. Along one path the changes
add up to the leaf's value minus the root's, so a row's contributions plus the base value (the
initial estimate and every root's value) equal the ensemble's raw prediction exactly. (When
the ensemble starts from a ``LinearStart`` rather than a constant, the start's own term per
feature is added to that feature's contribution, and its intercept to the base.) Each
leaf's path is fixed, so its changes per feature are computed once, when the trees are packed,
as ``max_depth`` slots of (feature, change) per node; a batch's contributions are one bincount
of its leaves' slots, block by block. Packed, the paths need numpy alone: the artifact keeps
them (``pricing``), and explaining a price imports neither scikit-learn nor scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.linear_terms import ClippedLine
from gradient_boosting_model.tree_arrays import TreeArrays

if TYPE_CHECKING:
    from sklearn.ensemble import GradientBoostingRegressor

#: scikit-learn's trees compare features as float32 (``sklearn.tree._tree.DTYPE``).
_TREE_DTYPE = np.float32

#: Rows whose contributions are added up at a time: bounds the (rows x trees x depth) slots
#: a bincount reads (256 rows of 1000 trees of depth 3: 6 MB of each). Measured on 1459
#: houses: 37 ms in blocks of 128, 29 of 512.
_BLOCK_ROWS = 256


@dataclass(frozen=True)
class TreePaths:
    """The trees of a fitted ``GradientBoostingRegressor``, packed for walking in bulk.

    Node arrays are indexed by a global node number; a leaf's children are itself, so walking
    ``max_depth`` steps leaves every row at its leaf whatever the depth of each tree.
    """

    #: Global node number of each tree's root.
    roots: npt.NDArray[np.intp]
    feature: npt.NDArray[np.intp]
    threshold: npt.NDArray[np.float64]
    left: npt.NDArray[np.intp]
    right: npt.NDArray[np.intp]
    max_depth: int
    #: Per node, ``max_depth`` slots of (feature, change): the change in scaled value that
    #: each split along the path from its tree's root to that node brought, and its feature
    #: (unused slots: feature 0, change 0).
    slot_features: npt.NDArray[np.intp]
    slot_changes: npt.NDArray[np.float64]
    #: The raw prediction of a row before any split: initial estimate plus every root's value.
    base_value: float
    n_features: int
    #: The ensemble's start, when it is linear (a sum of one term per feature) rather than a
    #: constant: its terms are added to the features' contributions.
    linear_start: ClippedLine | None = None
    #: The same trees packed by ``tree_arrays`` (the ones the prices use), which find a block's
    #: leaves in a few whole-level operations, and one house's by pattern codes (trees at most
    #: 3 deep); without them, every house is walked.
    packed: TreeArrays | None = None

    @classmethod
    def from_regressor(
        cls, regressor: GradientBoostingRegressor, *, packed: TreeArrays | None = None
    ) -> TreePaths:
        """Pack the fitted trees of ``regressor`` (single output); ``packed``: the same trees
        as ``TreeArrays`` (``tree_arrays.pack_trees``), kept to find leaves with."""
        from gradient_boosting_model.linear_start import LinearStart  # to pack a fitted model

        trees = tuple(estimator.tree_ for estimator in regressor.estimators_[:, 0])
        sizes = np.array([tree.node_count for tree in trees])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        n_features = int(regressor.n_features_in_)

        feature, threshold, left, right, value, parent = ([] for _ in range(6))
        for tree, offset in zip(trees, offsets, strict=True):
            is_leaf = tree.children_left < 0
            own = np.arange(tree.node_count) + offset
            feature.append(np.where(is_leaf, 0, tree.feature))
            threshold.append(np.where(is_leaf, np.inf, tree.threshold))
            left.append(np.where(is_leaf, own, tree.children_left + offset))
            right.append(np.where(is_leaf, own, tree.children_right + offset))
            value.append(tree.value[:, 0, 0] * regressor.learning_rate)
            up = np.full(tree.node_count, -1)
            inner = ~is_leaf
            up[tree.children_left[inner]] = own[inner]
            up[tree.children_right[inner]] = own[inner]
            parent.append(up)

        packed_feature = np.concatenate(feature).astype(np.intp)
        packed_value = np.concatenate(value)
        packed_parent = np.concatenate(parent)
        depth = max(max(tree.max_depth for tree in trees), 1)
        slot_features = np.zeros((packed_value.size, depth), dtype=np.intp)
        slot_changes = np.zeros((packed_value.size, depth), dtype=np.float64)
        for node in range(packed_value.size):
            slot, child, up = 0, node, packed_parent[node]
            while up >= 0:
                slot_features[node, slot] = packed_feature[up]
                slot_changes[node, slot] = packed_value[child] - packed_value[up]
                slot, child, up = slot + 1, up, packed_parent[up]
        start = regressor.init_
        if isinstance(start, LinearStart):
            initial, linear = start.intercept_, start.line()
        else:  # a constant (scikit-learn's default DummyRegressor)
            initial = float(regressor._raw_predict_init(np.zeros((1, n_features)))[0, 0])
            linear = None
        return cls(
            roots=offsets,
            feature=packed_feature,
            threshold=np.concatenate(threshold).astype(np.float64),
            left=np.concatenate(left).astype(np.intp),
            right=np.concatenate(right).astype(np.intp),
            max_depth=depth,
            slot_features=slot_features,
            slot_changes=slot_changes,
            base_value=initial + float(packed_value[offsets].sum()),
            n_features=n_features,
            linear_start=linear,
            packed=packed,
        )

    def leaves(self, X: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
        """The global leaf number each row reaches in each tree, shape (rows, trees)."""
        values = np.ascontiguousarray(X, dtype=_TREE_DTYPE)
        # The packed trees take finite features (as the prices do); the walk takes any.
        if self.packed is None or not math.isfinite(values.sum(dtype=np.float64)):
            return self.walked_leaves(values)
        if values.shape[0] == 1:
            nodes = self.packed.one_house_nodes(values[0])
            if nodes is not None:
                return nodes[None, :]
        return self.packed.fitted_leaves(values)

    def walked_leaves(self, X: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
        """``leaves`` by walking every tree at once, one level a step."""
        values = np.asarray(X, dtype=_TREE_DTYPE)
        nodes = np.broadcast_to(self.roots, (values.shape[0], self.roots.size))
        for _ in range(self.max_depth):
            goes_left = (
                np.take_along_axis(values, self.feature[nodes], axis=1) <= (self.threshold[nodes])
            )
            nodes = np.where(goes_left, self.left[nodes], self.right[nodes])
        return np.asarray(nodes, dtype=np.intp)

    def contributions(self, X: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Each feature's contribution to each row's raw prediction, shape (rows, features).

        ``base_value + contributions(X).sum(axis=1)`` is the ensemble's raw prediction.
        """
        leaves = self.leaves(X)
        by_trees = np.empty((leaves.shape[0], self.n_features), dtype=np.float64)
        for first in range(0, leaves.shape[0], _BLOCK_ROWS):
            block = slice(first, first + _BLOCK_ROWS)
            by_trees[block] = self._tree_contributions(leaves[block])
        if self.linear_start is None:
            return by_trees
        # The ensemble hands its start float32 inputs, as it hands its trees: so do we.
        return by_trees + self.linear_start.contributions(np.asarray(X, dtype=_TREE_DTYPE))

    def _tree_contributions(self, leaves: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        """(rows x features): the slots of the rows' leaves added up by feature."""
        rows = leaves.shape[0]
        # np.take, not [] indexing: half the time on (rows x trees x depth) gathers.
        cells = self.slot_features.take(leaves, axis=0)
        cells += (np.arange(rows) * self.n_features)[:, None, None]
        totals = np.bincount(
            cells.reshape(-1),
            weights=self.slot_changes.take(leaves, axis=0).reshape(-1),
            minlength=rows * self.n_features,
        )
        return np.asarray(totals, dtype=np.float64).reshape(rows, self.n_features)
