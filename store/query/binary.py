"""Binary operators: arithmetic and comparison between scalars and vectors, vector matching
(`on`, `ignoring`, `group_left`, `group_right`, `bool`) and the set operators `and`, `or`, `unless`,
with Prometheus 2.42's rules and error messages (engine.go VectorBinop, VectorAnd/Or/Unless)."""

from __future__ import annotations

import numpy as np

from model import Labels
from store.query import ast
from store.query.result import QueryError
from store.query.values import NAME, BoolArray, FloatArray, StepSeries, Vec, drop_name, go_labels

__all__ = ["ARITHMETIC", "COMPARISON", "scalar_op", "set_op", "vector_op", "vector_scalar_op"]

ARITHMETIC = frozenset(("+", "-", "*", "/", "%", "^", "atan2"))
COMPARISON = frozenset(("==", "!=", ">", "<", ">=", "<="))


_ARITHMETIC_UFUNCS: dict[str, np.ufunc] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "%": np.fmod,  # Go's math.Mod: the result has the sign of the dividend, like C's fmod
    "^": np.power,
    "atan2": np.arctan2,
}
_COMPARISON_UFUNCS: dict[str, np.ufunc] = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
}


def _elem(op: str, lhs: FloatArray, rhs: FloatArray) -> tuple[FloatArray, BoolArray | None]:
    """(value, keep) as vectorElemBinop: arithmetic keeps everything; comparisons answer lhs."""
    arithmetic = _ARITHMETIC_UFUNCS.get(op)
    if arithmetic is not None:
        value: FloatArray = np.asarray(arithmetic(lhs, rhs), dtype=np.float64)
        return value, None
    keep: BoolArray = np.asarray(_COMPARISON_UFUNCS[op](lhs, rhs))
    return np.broadcast_to(lhs, keep.shape).astype(np.float64), keep


def scalar_op(op: str, lhs: FloatArray, rhs: FloatArray) -> FloatArray:
    """Scalar op scalar (comparisons between scalars always carry `bool`)."""
    value, keep = _elem(op, lhs, rhs)
    return value if keep is None else keep.astype(np.float64)


def vector_scalar_op(op: str, vec: Vec, scalar: FloatArray, *, scalar_left: bool, return_bool: bool) -> Vec:
    if not vec:
        return []
    drop = op in ARITHMETIC or return_bool
    vals = np.stack([s.values for s in vec])
    present = np.stack([s.present for s in vec])
    row = scalar[None, :]
    value, keep = _elem(op, row, vals) if scalar_left else _elem(op, vals, row)
    if keep is not None:
        value = vals  # a comparison answers the vector's value, on either side
        if return_bool:
            value = keep.astype(np.float64)
        else:
            present = present & keep
    return [
        StepSeries(drop_name(s.labels) if drop else s.labels, value[i], present[i])
        for i, s in enumerate(vec)
        if present[i].any()
    ]


def signature(labels: Labels, matching: ast.VectorMatching) -> Labels:
    names = set(matching.labels)
    if matching.on:
        return Labels.from_pairs(tuple(p for p in labels.pairs if p[0] in names))
    names.add(NAME)
    return Labels.from_pairs(tuple(p for p in labels.pairs if p[0] not in names))


def _by_signature(vec: Vec, matching: ast.VectorMatching) -> dict[Labels, list[int]]:
    out: dict[Labels, list[int]] = {}
    for i, s in enumerate(vec):
        out.setdefault(signature(s.labels, matching), []).append(i)
    return out


def _presence(vec: Vec, groups: dict[Labels, list[int]], steps: int) -> dict[Labels, BoolArray]:
    out: dict[Labels, BoolArray] = {}
    for sig, members in groups.items():
        any_present = np.zeros(steps, dtype=bool)
        for i in members:
            any_present |= vec[i].present
        out[sig] = any_present
    return out


def set_op(op: str, lhs: Vec, rhs: Vec, matching: ast.VectorMatching, steps: int) -> Vec:
    """`and`, `or`, `unless`: per step, by the signatures present on the other side at that step."""
    if op == "or":
        left = _presence(lhs, _by_signature(lhs, matching), steps)
        none = np.zeros(steps, dtype=bool)
        out = list(lhs)
        for s in rhs:
            present = s.present & ~left.get(signature(s.labels, matching), none)
            out.append(StepSeries(s.labels, s.values, present))
        return out
    right = _presence(rhs, _by_signature(rhs, matching), steps)
    none = np.zeros(steps, dtype=bool)
    out = []
    for s in lhs:
        other = right.get(signature(s.labels, matching), none)
        out.append(StepSeries(s.labels, s.values, s.present & (other if op == "and" else ~other)))
    return out


def _match_labels(labels: Labels, matching: ast.VectorMatching) -> Labels:
    names = set(matching.labels)
    return Labels.from_pairs(
        tuple(p for p in labels.pairs if (p[0] in names) == matching.on and (matching.on or p[0] != NAME))
    )


def _check_one_side(one: Vec, groups: dict[Labels, list[int]], matching: ast.VectorMatching, steps: int) -> None:
    """Two series with one signature present at one step on the "one" side: many-to-many."""
    bad_steps = [
        int(np.flatnonzero(np.sum([one[i].present for i in members], axis=0) > 1)[0])
        for members in groups.values()
        if len(members) > 1 and (np.sum([one[i].present for i in members], axis=0) > 1).any()
    ]
    if not bad_steps:
        return
    step = min(bad_steps)
    seen: dict[Labels, StepSeries] = {}
    for s in one:
        if not s.present[step]:
            continue
        sig = signature(s.labels, matching)
        if sig in seen:
            side = "left" if matching.card is ast.Cardinality.ONE_TO_MANY else "right"
            raise QueryError(
                f"found duplicate series for the match group {go_labels(_match_labels(s.labels, matching))} "
                f"on the {side} hand-side of the operation: [{go_labels(s.labels)}, {go_labels(seen[sig].labels)}]"
                ";many-to-many matching not allowed: matching labels must be unique on one side",
                error_type="execution",
            )
        seen[sig] = s


def _result_labels(many: Labels, one: Labels, op: str, matching: ast.VectorMatching) -> Labels:
    """resultMetric(): the "many" side's labels, less the name for arithmetic, kept or dropped by
    on/ignoring for one-to-one matching, plus the group_x labels of the "one" side."""
    drop_metric = op in ARITHMETIC
    one_to_one = matching.card is ast.Cardinality.ONE_TO_ONE
    names = set(matching.labels)
    kept = tuple(
        p
        for p in many.pairs
        if not (drop_metric and p[0] == NAME) and (not one_to_one or (p[0] in names) == matching.on)
    )
    if not matching.include:
        return Labels.from_pairs(kept)
    pairs = dict(kept)
    for name in matching.include:
        value = one.get(name, "")
        if value:
            pairs[name] = value
        else:
            pairs.pop(name, None)
    return Labels(pairs)


def vector_op(op: str, lhs: Vec, rhs: Vec, matching: ast.VectorMatching, *, return_bool: bool, steps: int) -> Vec:
    """Arithmetic or comparison between two vectors with one-to-one or many-to-one matching."""
    swap = matching.card is ast.Cardinality.ONE_TO_MANY
    many, one = (rhs, lhs) if swap else (lhs, rhs)
    one_groups = _by_signature(one, matching)
    _check_one_side(one, one_groups, matching, steps)
    pairs: list[tuple[int, int, Labels]] = []
    for mi, m in enumerate(many):
        sig = signature(m.labels, matching)
        pairs.extend((mi, oi, sig) for oi in one_groups.get(sig, ()))
    if not pairs:
        return []
    m_vals = np.stack([many[mi].values for mi, _, _ in pairs])
    o_vals = np.stack([one[oi].values for _, oi, _ in pairs])
    present = np.stack([many[mi].present for mi, _, _ in pairs]) & np.stack([one[oi].present for _, oi, _ in pairs])
    value, keep = _elem(op, o_vals, m_vals) if swap else _elem(op, m_vals, o_vals)
    if keep is not None:
        if return_bool:
            value = keep.astype(np.float64)
        else:
            present = present & keep
    out: Vec = []
    emitted: dict[Labels, list[tuple[Labels, BoolArray]]] = {}
    for row in np.flatnonzero(present.any(axis=1)).tolist():
        mi, oi, sig = pairs[row]
        labels = _result_labels(many[mi].labels, one[oi].labels, op, matching)
        if return_bool:
            labels = drop_name(labels)
        emitted.setdefault(sig, []).append((labels, present[row]))
        out.append(StepSeries(labels, value[row], present[row]))
    _check_matches(emitted, matching)
    return out


def _check_matches(emitted: dict[Labels, list[tuple[Labels, BoolArray]]], matching: ast.VectorMatching) -> None:
    for results in emitted.values():
        if len(results) < 2:
            continue
        if matching.card is ast.Cardinality.ONE_TO_ONE:
            if (np.sum([p for _, p in results], axis=0) > 1).any():
                raise QueryError(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                    error_type="execution",
                )
            continue
        by_labels: dict[Labels, list[BoolArray]] = {}
        for labels, present in results:
            by_labels.setdefault(labels, []).append(present)
        for presents in by_labels.values():
            if len(presents) > 1 and (np.sum(presents, axis=0) > 1).any():
                raise QueryError(
                    "multiple matches for labels: grouping labels must ensure unique matches",
                    error_type="execution",
                )
