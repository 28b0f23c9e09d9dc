"""The trees of a fitted gradient boosting ensemble, evaluated in numpy for many houses at once.

scikit-learn's ``GradientBoostingRegressor.predict`` checks its input and then walks one tree
at a time over every row in compiled code: for one house the checks cost more than the trees,
and for many houses each of the thousand trees is a pass over all the rows.
``TreeArrays`` packs the fitted trees once into flat arrays and evaluates all of them on a
block of houses in about twenty whole-array numpy operations: no compiler at run time, no
loop over trees or nodes in Python (``benchmarks/trees_bench.py`` measures the ways there are).

Each tree is padded into a complete binary tree of the ensemble's depth D, in heap order. A leaf
above the bottom level becomes a split whose two subtrees end in copies of its value, so the
padding cannot change a result (its comparison is not even looked at). For a block of houses:

1. every distinct split (feature, threshold) of the ensemble is compared at once,
   ``x[feature] > threshold`` (true: to the right), then spread to the trees' nodes;
2. from the bottom level up, a node's leaf (its position among its subtree's bottom leaves)
   is its left child's, or its right child's plus the left subtree's width, picked by the node's
   own comparison: integer arithmetic on whole levels, no gather;
3. the roots' leaves index the trees' leaf values (learning rate applied), which are added to
   the start of the ensemble (``init_``).

The result is scikit-learn's to the last bit: its trees compare a feature cast to float32
against a float64 threshold (stored here as the largest float32 not above it, which orders every
float32 the same way); each leaf value is scaled by the learning rate as scikit-learn scales it
(``learning_rate * value``); and the terms are added in scikit-learn's order, the start first
and then the trees one by one. Numpy adds the first axis of a C-ordered (terms x houses) block
in that order; a block of one house is summed with ``cumsum``, as numpy sums a lone 1-D array
pairwise. A feature that is NaN or infinite as a float32 is refused, as scikit-learn refuses it
(the pipeline imputes every missing value before the trees).

One house alone (what the service sends most) takes another road when the trees are at most
``CODED_DEPTH`` deep: its comparisons are gathered tree by tree into eight bytes (a tree of depth
3 has 7 splits; the eighth byte is a comparison always false), which one multiplication turns
into a number under 256 naming the pattern of the tree's choices, and a table made once gives
each tree's leaf value for each pattern (``CodedTrees``). Seven numpy operations in all, where
the levels take about twenty: for one house the calls, not the arithmetic, are the cost. For
many houses the gather of eight bytes a tree is the slower (its table is also read at random),
so a block keeps the levels.

A complete tree of depth D has 2^D - 1 splits to compare, so past ``MAX_DEPTH`` scikit-learn's
own walk is the faster: ``raw_predictor`` keeps it for such ensembles, and for anything that is
not a single-output ``GradientBoostingRegressor``. (``blend.log_price_predictor`` puts the
blend's Lasso half back beside its trees.)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.derived_state import trained

if TYPE_CHECKING:
    from sklearn.ensemble import GradientBoostingRegressor

FloatArray = npt.NDArray[np.float64]
#: Raw predictions (log prices) of a feature matrix's rows.
Predict = Callable[[npt.NDArray[Any]], FloatArray]

#: scikit-learn's trees compare features as float32 (``sklearn.tree._tree.DTYPE``).
_TREE_DTYPE = np.float32

#: The deepest ensemble evaluated here. A complete tree of depth D compares 2^D - 1 splits a
#: house, scikit-learn's walk D of them (in compiled code, after its checks). trees_bench.py's
#: ensembles of 300 trees, against scikit-learn's predict: one house 3 to 7 times as fast at
#: every depth up to 8; 1459 houses 1.5x at depth 5, 0.8 to 1.0x at 6, 0.4 to 0.5x at 7.
MAX_DEPTH = 6

#: The deepest trees ``TreeArrays`` can pack: a leaf's number within its tree is one byte.
DEEPEST = 8

#: Houses evaluated together. A block's arrays take about 40 kB a house for the packaged model
#: (splits, nodes, and an index and a term per tree); measured per house: 7.1 us in blocks of
#: 32, 4.1 of 64, 3.6 of 128, 4.7 of 256, 6.4 of 512.
BLOCK_ROWS = 128

#: The deepest trees a single house is evaluated by pattern code (``CodedTrees``): 2^3 - 1 = 7
#: splits a tree, one byte each, fit the eight bytes one multiplication codes.
CODED_DEPTH = 3

#: Multiplying eight bytes, each 0 or 1, read as one little-endian uint64 by this puts
#: ``sum(byte_i * 2**i)`` in the top byte: each byte's product lands on its own bit there and no
#: lower byte's sum reaches 256, so nothing carries into it (``CodedTrees.code`` checks that the
#: codes of every pattern differ, whatever the machine's byte order).
_GATHER_BITS = np.uint64(0x0102040810204080)
_TOP_BYTE = np.uint64(56)
_CODES = 256


def _fitted_predict(estimator: Any) -> Predict:
    """A fitted estimator's ``predict``, checked once rather than per call where the estimator
    offers that (``LinearStart.fitted_predict``)."""
    fitted = getattr(estimator, "fitted_predict", None)
    predict: Predict = fitted() if fitted is not None else estimator.predict
    return predict


def _floor_float32(thresholds: FloatArray) -> npt.NDArray[np.float32]:
    """The largest float32 at or below each threshold: for every float32 ``x``,
    ``x <= threshold`` exactly when ``x <= _floor_float32(threshold)``."""
    with np.errstate(over="ignore"):  # beyond float32: inf, then its largest finite value
        floor = thresholds.astype(_TREE_DTYPE)
    above = floor.astype(np.float64) > thresholds
    floor[above] = np.nextafter(floor[above], _TREE_DTYPE(-np.inf))
    return floor


def _sum_in_order(terms: FloatArray) -> FloatArray:
    """Each column of ``terms`` added up from its first row to its last, in that order."""
    if terms.shape[1] == 1:
        return np.cumsum(terms[:, 0])[-1:]
    total: FloatArray = np.add.reduce(terms, axis=0)
    return total


@dataclass(frozen=True, eq=False)
class CodedTrees:
    """Trees at most ``CODED_DEPTH`` deep, for one house: each tree's comparisons as one byte
    code, which names the leaf it leads to in one table shared by every tree."""

    #: Per tree, eight split indices (``TreeArrays.split_features``' numbering): its nodes in
    #: heap order, then ``padding``, the index of a comparison that is always false.
    node_bytes: npt.NDArray[np.intp]
    padding: int
    #: For each of the 256 codes, the leaf (its number within its tree) the choices lead to:
    #: the same for every tree, as every tree is complete and of one depth.
    leaf_of_code: npt.NDArray[np.intp]
    #: Each tree's first leaf in ``TreeArrays.leaf_values``.
    tree_leaves: npt.NDArray[np.intp]
    #: ``TreeArrays.split_thresholds`` as one row.
    thresholds: npt.NDArray[np.float32]

    @staticmethod
    def code(choices: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
        """The codes of (... x 8) bytes, each 0 or 1."""
        words = np.ascontiguousarray(choices).view(np.uint64)[..., 0]
        coded: npt.NDArray[np.uint64] = (words * _GATHER_BITS) >> _TOP_BYTE
        return coded

    @classmethod
    def from_levels(
        cls, node_splits: npt.NDArray[np.intp], thresholds: npt.NDArray[np.float32], *, depth: int
    ) -> CodedTrees:
        """From ``TreeArrays``' nodes (by heap position, then tree) and split thresholds."""
        splits = thresholds.size
        nodes = 2**depth - 1
        trees = node_splits.size // nodes
        node_bytes = np.full((trees, 8), splits, dtype=np.intp)
        node_bytes[:, :nodes] = node_splits.reshape(nodes, trees).T
        # Every pattern of a tree's choices (bit i: node i goes right), and the leaf it reaches
        # by walking down from the root.
        patterns = np.arange(2**nodes)
        choices = np.zeros((patterns.size, 8), dtype=np.uint8)
        choices[:, :nodes] = (patterns[:, None] >> np.arange(nodes)) & 1
        node = np.zeros(patterns.size, dtype=np.intp)
        for _ in range(depth):
            node = 2 * node + 1 + choices[patterns, node]
        codes = cls.code(choices).astype(np.intp)
        if np.unique(codes).size != patterns.size:  # pragma: no cover - a wrong _GATHER_BITS
            raise AssertionError("two patterns of choices share a code")
        leaf_of_code = np.zeros(_CODES, dtype=np.intp)
        leaf_of_code[codes] = node - nodes
        return cls(
            node_bytes=node_bytes.ravel(),
            padding=splits,
            leaf_of_code=leaf_of_code,
            tree_leaves=np.arange(trees, dtype=np.intp) * 2**depth,
            thresholds=np.ascontiguousarray(thresholds.ravel()),
        )

    def add_trees(
        self, house: npt.NDArray[np.float32], trees: TreeArrays, start: float
    ) -> FloatArray:
        """``start`` plus every tree's value for one house (its features, float32), summed in
        scikit-learn's order."""
        leaves = self.leaves(house, trees)
        terms = np.empty(leaves.size + 1, dtype=np.float64)
        terms[0] = start
        trees.leaf_values.take(leaves, out=terms[1:])
        # In order, as ``_sum_in_order`` adds one house (np.cumsum is this, behind a wrapper).
        total: FloatArray = np.add.accumulate(terms)[-1:]
        return total

    def leaves(self, house: npt.NDArray[np.float32], trees: TreeArrays) -> npt.NDArray[np.intp]:
        """The leaf one house (its features, float32) reaches in each tree, as its number in
        ``trees.leaf_values``."""
        goes_right = np.zeros(self.padding + 1, dtype=np.uint8)
        np.greater(
            house.take(trees.split_features), self.thresholds, out=goes_right[: self.padding]
        )
        words = goes_right.take(self.node_bytes).view(np.uint64)  # eight bytes a tree
        codes = (words * _GATHER_BITS) >> _TOP_BYTE  # ``code``, on bytes taken contiguous
        leaves = self.leaf_of_code.take(codes.view(np.intp))  # a code is under 256
        leaves += self.tree_leaves
        return leaves


@dataclass(frozen=True, eq=False)
class TreeArrays:
    """The trees of a fitted ``GradientBoostingRegressor`` as complete binary trees in flat
    arrays; ``predict`` gives the regressor's raw prediction (``regressor.predict``) exactly.

    A tree's nodes are in heap order (node ``i`` has children ``2i + 1`` and ``2i + 2``); its
    2^depth leaves are numbered on in ``leaf_values``, tree after tree.
    """

    n_features: int
    n_trees: int
    #: Depth of every padded tree (at least 1).
    depth: int
    #: The ensemble's fitted start's (``init_``) ``predict`` (without its per-call checks
    #: where it offers that: ``LinearStart``'s is its ``ClippedLine``'s); None for a start of
    #: zero.
    start_predict: Predict | None
    #: The ensemble's distinct splits: feature and float32 threshold (a column, for blocks).
    split_features: npt.NDArray[np.intp]
    split_thresholds: npt.NDArray[np.float32]
    #: Per node of the padded trees, the index of its split: by heap position, then by tree.
    node_splits: npt.NDArray[np.intp]
    #: Per leaf of every padded tree, its value times the learning rate.
    leaf_values: FloatArray
    #: (trees x 1): the number of each tree's first leaf in ``leaf_values``.
    tree_leaves: npt.NDArray[np.intp]
    #: Per leaf of every padded tree, the fitted node it copies, numbered across the trees as
    #: ``tree_paths.TreePaths`` numbers them (each tree's nodes after the previous tree's).
    leaf_nodes: npt.NDArray[np.intp]
    #: The trees coded for one house, when they are at most ``CODED_DEPTH`` deep.
    one_house: CodedTrees | None = None

    @classmethod
    def from_regressor(cls, regressor: GradientBoostingRegressor) -> TreeArrays:
        """Pack the trees of a fitted, single-output ``regressor`` at most ``DEEPEST`` deep."""
        estimators = regressor.estimators_
        if estimators.ndim != 2 or estimators.shape[1] != 1:
            raise ValueError("TreeArrays packs the trees of a single-output regressor")
        trees = [estimator.tree_ for estimator in estimators[:, 0]]
        depth = max(1, *(tree.max_depth for tree in trees))
        if depth > DEEPEST:
            raise ValueError(f"TreeArrays packs trees at most {DEEPEST} deep, not {depth}")
        sizes = np.array([tree.node_count for tree in trees], dtype=np.intp)
        roots = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        # Every tree's nodes in one numbering; a leaf is its own two children.
        offsets = np.repeat(roots, sizes)
        nodes = np.arange(offsets.size)
        is_leaf = np.concatenate([tree.children_left < 0 for tree in trees])
        left = np.where(is_leaf, nodes, np.concatenate([t.children_left for t in trees]) + offsets)
        right = np.where(
            is_leaf, nodes, np.concatenate([t.children_right for t in trees]) + offsets
        )
        feature = np.where(is_leaf, 0, np.concatenate([tree.feature for tree in trees]))
        threshold = np.where(is_leaf, np.inf, np.concatenate([tree.threshold for tree in trees]))
        value = np.concatenate([tree.value[:, 0, 0] for tree in trees]) * regressor.learning_rate

        # Level by level, every tree's nodes in heap order: a leaf above the bottom fills its
        # whole subtree (as its own two children), so its copies reach the bottom.
        level = roots[:, None]
        heap = []
        for _ in range(depth):
            heap.append(level)
            level = np.stack([left[level], right[level]], axis=-1).reshape(len(trees), -1)
        # Nodes by heap position, then by tree: a level's nodes are one contiguous block.
        heap_nodes = np.concatenate(heap, axis=1).T.ravel()

        split_pairs = np.column_stack(
            [feature[heap_nodes].astype(np.float64), _floor_float32(threshold[heap_nodes])]
        )
        splits, node_splits = np.unique(split_pairs, axis=0, return_inverse=True)
        init = regressor.init_
        start = None if isinstance(init, str) and init == "zero" else init
        node_splits = np.asarray(node_splits, dtype=np.intp).ravel()
        thresholds = splits[:, 1].astype(_TREE_DTYPE)
        leaf_values = np.ascontiguousarray(value[level].ravel(), dtype=np.float64)
        one_house = (
            CodedTrees.from_levels(node_splits, thresholds, depth=depth)
            if depth <= CODED_DEPTH
            else None
        )
        return cls(
            n_features=int(regressor.n_features_in_),
            n_trees=len(trees),
            depth=depth,
            start_predict=None if start is None else _fitted_predict(start),
            split_features=splits[:, 0].astype(np.intp),
            split_thresholds=thresholds[:, None],
            node_splits=node_splits,
            leaf_values=leaf_values,
            tree_leaves=(np.arange(len(trees), dtype=np.intp) * 2**depth)[:, None],
            leaf_nodes=np.ascontiguousarray(level.ravel(), dtype=np.intp),
            one_house=one_house,
        )

    def one_house_nodes(self, house: npt.NDArray[np.float32]) -> npt.NDArray[np.intp] | None:
        """The fitted node (``leaf_nodes``' numbering) one house reaches in each tree, by its
        pattern codes; ``None`` when the trees are too deep to be coded or a feature is not a
        finite float32 (which the walks of ``tree_paths`` take as they come)."""
        if self.one_house is None or not math.isfinite(house.sum(dtype=np.float64)):
            return None
        nodes: npt.NDArray[np.intp] = self.leaf_nodes.take(self.one_house.leaves(house, self))
        return nodes

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        """The ensemble's raw prediction of each row of ``X`` (houses x features), as
        ``regressor.predict(X)`` gives it, to the last bit.

        Raises
        ------
        ValueError
            If ``X`` has another number of features, or a value that is NaN or infinite as a
            float32 (scikit-learn refuses those too).
        """
        values = np.asarray(X, dtype=_TREE_DTYPE)
        if values.ndim != 2 or values.shape[1] != self.n_features:
            raise ValueError(
                f"X has shape {values.shape}, but the trees take {self.n_features} features"
            )
        # Finite float32s add up to a finite float64 (their count would have to pass 1e269 to
        # overflow), and any NaN or infinity makes the sum NaN or infinite: one operation.
        if not math.isfinite(values.sum(dtype=np.float64)):
            raise ValueError("Input X contains NaN or infinity (or a value too large for float32)")
        rows = values.shape[0]
        start = (
            np.zeros(rows)
            if self.start_predict is None
            else np.asarray(self.start_predict(values), dtype=np.float64).reshape(rows)
        )
        if rows == 1 and self.one_house is not None:
            return self.one_house.add_trees(values[0], self, float(start[0]))
        with self.scratch.lent(rows) as scratch:
            if rows <= BLOCK_ROWS:
                return self._add_trees(np.ascontiguousarray(values.T), start, scratch)
            raw = np.empty(rows)
            for first in range(0, rows, BLOCK_ROWS):
                block = slice(first, first + BLOCK_ROWS)
                columns = np.ascontiguousarray(values[block].T)
                raw[block] = self._add_trees(columns, start[block], scratch)
        return raw

    def fitted_leaves(self, X: npt.NDArray[np.float32]) -> npt.NDArray[np.intp]:
        """The fitted node (``leaf_nodes``' numbering) each row of ``X`` (finite float32s,
        houses x features) reaches in each tree, (houses x trees): block by block, as
        ``predict`` finds them."""
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"X has shape {X.shape}, but the trees take {self.n_features} features"
            )
        rows = X.shape[0]
        nodes = np.empty((rows, self.n_trees), dtype=np.intp)
        with self.scratch.lent(rows) as scratch:
            for first in range(0, rows, BLOCK_ROWS):
                block = slice(first, first + BLOCK_ROWS)
                found = self._found_leaves(np.ascontiguousarray(X[block].T), scratch)
                nodes[block] = self.leaf_nodes.take(found).T
        return nodes

    @cached_property
    def scratch(self) -> ScratchPool:
        """The blocks' arrays, kept from one call to the next (``ScratchPool``)."""
        return ScratchPool(self)

    def __getstate__(self) -> dict[str, Any]:
        return trained(self.__dict__, "scratch")  # made again on first use

    def _add_trees(
        self, columns: npt.NDArray[np.float32], start: FloatArray, scratch: _Scratch
    ) -> FloatArray:
        """``start`` plus every tree's value, for a block given as (features x houses)."""
        found = self._found_leaves(columns, scratch)
        terms = _shaped(scratch.terms, self.n_trees + 1, columns.shape[1])
        terms[0] = start
        np.take(self.leaf_values, found, out=terms[1:], mode="clip")
        return _sum_in_order(terms)

    def _found_leaves(
        self, columns: npt.NDArray[np.float32], scratch: _Scratch
    ) -> npt.NDArray[np.intp]:
        """(trees x houses): each house's leaf in each tree, as its number in ``leaf_values``,
        for a block given as (features x houses); a view of ``scratch``."""
        rows, depth, trees = columns.shape[1], self.depth, self.n_trees
        splits = self.split_features.size
        # np.take copies whole rows; indexing with [] is several times slower for few houses.
        # mode="clip": numpy then writes into ``out`` directly, with no buffered copy.
        split_values = _shaped(scratch.split_values, splits, rows)
        np.take(columns, self.split_features, axis=0, out=split_values, mode="clip")
        to_right = _shaped(scratch.to_right, splits, rows)
        np.greater(split_values, scratch.thresholds[:, :rows], out=to_right)
        # (heap positions x trees x houses): a level's positions are a contiguous block, whose
        # (trees x houses) planes numpy runs through as one long loop even for one house.
        goes = _shaped(scratch.goes, self.node_splits.size, rows)
        np.take(to_right.view(np.uint8), self.node_splits, axis=0, out=goes, mode="clip")
        goes = goes.reshape(-1, trees, rows)
        # Bottom splits: leaf 0 or 1 of their pair. Then up, a level at a time, each node's
        # leaf written over its own comparison once that is read.
        leaf = goes[2 ** (depth - 1) - 1 :]
        for level in range(depth - 2, -1, -1):
            chosen = goes[2**level - 1 : 2 ** (level + 1) - 1]
            width = np.uint8(2 ** (depth - 1 - level))  # leaves under each child
            on_left, on_right = leaf[0::2], leaf[1::2]
            # on_left, or on_right + width where chosen (exact: uint8 wraps back).
            step = _shaped(scratch.step, *chosen.shape)
            np.add(on_right, width, out=step)
            np.subtract(step, on_left, out=step)
            np.multiply(step, chosen, out=step)
            leaf = np.add(step, on_left, out=chosen)
        found = _shaped(scratch.found, trees, rows)
        # Widened first, then added to whole arrays: numpy adds bytes to a column of intp
        # (mixed types, broadcast) at a third of the speed.
        found[...] = leaf.reshape(trees, rows)
        np.add(found, scratch.tree_leaves[:, :rows], out=found)
        return found


class _Scratch:
    """The arrays of ``TreeArrays._add_trees`` for blocks of up to ``rows`` houses, reused block
    after block: fresh memory cost more than the arithmetic done in it (the first touch of each
    page), 4 to 5 times as much for blocks of 128 houses."""

    def __init__(self, trees: TreeArrays, rows: int) -> None:
        splits, nodes, count = trees.split_features.size, trees.node_splits.size, trees.n_trees
        self.split_values = np.empty(splits * rows, dtype=_TREE_DTYPE)
        self.to_right = np.empty(splits * rows, dtype=np.bool_)
        self.goes = np.empty(nodes * rows, dtype=np.uint8)
        self.step = np.empty(nodes // 2 * rows, dtype=np.uint8)  # a level above the bottom
        self.found = np.empty(count * rows, dtype=np.intp)
        self.terms = np.empty((count + 1) * rows, dtype=np.float64)
        #: Each split's threshold, and each tree's first leaf, repeated for every house: used
        #: whole, not broadcast from a column, they take half the time to compare or add.
        self.thresholds = np.repeat(trees.split_thresholds, rows, axis=1)
        self.tree_leaves = np.repeat(trees.tree_leaves, rows, axis=1)


class ScratchPool:
    """One ``_Scratch`` of ``BLOCK_ROWS`` houses, kept for the trees' calls and lent to one at
    a time. Made afresh for each call, its 7 MB (the packaged model's) were new pages each time,
    which the kernel hands over zeroed on first touch: for 1459 houses that cost about a fifth
    of the trees' time. A call that finds it lent (to another thread) makes its own."""

    def __init__(self, trees: TreeArrays) -> None:
        self._trees = trees
        self._kept: _Scratch | None = None
        self._lock = threading.Lock()

    @contextmanager
    def lent(self, rows: int) -> Iterator[_Scratch]:
        """Arrays for blocks of ``rows`` houses (at most ``BLOCK_ROWS``), for the ``with``."""
        if not self._lock.acquire(blocking=False):
            yield _Scratch(self._trees, min(rows, BLOCK_ROWS))
            return
        try:
            if self._kept is None:
                self._kept = _Scratch(self._trees, BLOCK_ROWS)
            yield self._kept
        finally:
            self._lock.release()


def _shaped(buffer: npt.NDArray[Any], *shape: int) -> npt.NDArray[Any]:
    """The start of a flat ``buffer`` as a C-ordered array of ``shape``."""
    return buffer[: math.prod(shape)].reshape(shape)


def pack_trees(regressor: Any) -> TreeArrays | None:
    """A fitted regressor's trees as ``TreeArrays``, if it is a single-output
    ``GradientBoostingRegressor`` at most ``MAX_DEPTH`` deep; ``None`` otherwise (its own
    ``predict`` is then the fastest)."""
    from sklearn.ensemble import GradientBoostingRegressor  # to pack a fitted model only

    if (
        isinstance(regressor, GradientBoostingRegressor)
        and regressor.estimators_.shape[1] == 1
        and max(tree.tree_.max_depth for tree in regressor.estimators_[:, 0]) <= MAX_DEPTH
    ):
        return TreeArrays.from_regressor(regressor)
    return None


def raw_predictor(regressor: Any, packed: TreeArrays | None = None) -> Predict:
    """The fastest exact raw predictor of a fitted regressor: its ``TreeArrays`` (``packed``,
    the trees ``pack_trees`` made of it already, or made now), its own ``predict`` where
    ``pack_trees`` makes none."""
    trees = packed if packed is not None else pack_trees(regressor)
    if trees is not None:
        return trees.predict
    predict: Predict = regressor.predict
    return predict
