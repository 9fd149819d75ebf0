"""Helpers that build altered copies of protocol objects, for tamper-rejection tests.

Every alteration replaces one field with *another valid value* of the same type (a different
point on the curve, a different scalar), so what fails is the proof, never the decoding.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from crypto.group import Point, Q, Scalar, base_mul
from crypto.hashing import check_digest_hex

POINT_HEX_LENGTH = 130
SCALAR_HEX_LENGTH = 64


def other_point(point: Point | None = None) -> Point:
    """A random real point (different from ``point`` with overwhelming probability)."""
    while True:
        candidate = base_mul(Scalar.random())
        if point is None or candidate != point:
            return candidate


def other_scalar(scalar: Scalar | None = None) -> Scalar:
    while True:
        candidate = Scalar.random()
        if scalar is None or candidate != scalar:
            return candidate


def replaced(obj: Any, **changes: Any) -> Any:
    return dataclasses.replace(obj, **changes)


def with_item(items: tuple, index: int, value: Any) -> tuple:
    return (*items[:index], value, *items[index + 1 :])


def field_mutations(obj: Any) -> Iterator[tuple[str, Any]]:
    """Every single-field alteration of a proof-like dataclass whose fields are points, scalars,
    tuples of them, or tuples of pairs of points: ``(field path, altered copy)``."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, Point):
            yield f.name, replaced(obj, **{f.name: other_point(value)})
        elif isinstance(value, Scalar):
            yield f.name, replaced(obj, **{f.name: other_scalar(value)})
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if isinstance(item, Point):
                    new = with_item(value, i, other_point(item))
                    yield f"{f.name}[{i}]", replaced(obj, **{f.name: new})
                elif isinstance(item, Scalar):
                    new = with_item(value, i, other_scalar(item))
                    yield f"{f.name}[{i}]", replaced(obj, **{f.name: new})
                elif isinstance(item, tuple):
                    for k, sub in enumerate(item):
                        new = with_item(value, i, with_item(item, k, other_point(sub)))
                        yield f"{f.name}[{i}][{k}]", replaced(obj, **{f.name: new})


# --- JSON trees ------------------------------------------------------------------------------------


Path = tuple[Any, ...]


def json_leaves(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every leaf of a JSON tree with its path (keys and indices)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_leaves(item, (*path, index))
    else:
        yield path, value


def json_nodes(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every node (leaves, arrays and objects, the root excluded) with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), item
            yield from json_nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*path, index), item
            yield from json_nodes(item, (*path, index))


def json_get(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def json_set(value: Any, path: Path, new: Any) -> Any:
    """A deep copy of ``value`` with the node at ``path`` replaced by ``new``."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        copy = dict(value)
    else:
        copy = list(value)
    copy[head] = json_set(value[head], rest, new)
    return copy


def json_delete(value: Any, path: Path) -> Any:
    """A deep copy of ``value`` without the object key (or array item) at ``path``."""
    parent = json_get(value, path[:-1])
    if isinstance(parent, dict):
        new_parent = {k: v for k, v in parent.items() if k != path[-1]}
    else:
        new_parent = [v for i, v in enumerate(parent) if i != path[-1]]
    return json_set(value, path[:-1], new_parent)


def is_point_hex(value: Any) -> bool:
    return isinstance(value, str) and len(value) == POINT_HEX_LENGTH and value.startswith("04")


def is_identity_hex(value: Any) -> bool:
    return value == "00"


def is_64_hex(value: Any) -> bool:
    try:
        check_digest_hex(value)
    except Exception:  # noqa: BLE001 - InvalidEncoding
        return False
    return True


def point_leaves(tree: Any) -> list[Path]:
    return [p for p, v in json_leaves(tree) if is_point_hex(v)]


def scalar_leaves(tree: Any, digest_keys: frozenset[str] = frozenset()) -> list[Path]:
    """64-hex leaves that are scalars (not digests: their last key is not in ``digest_keys``)."""
    return [p for p, v in json_leaves(tree) if is_64_hex(v) and p[-1] not in digest_keys]


def altered_leaf(value: str) -> str:
    """Another valid value of the same kind for a point or scalar hex leaf."""
    if is_point_hex(value):
        return other_point(Point.from_hex(value)).to_hex()
    if is_64_hex(value):
        return f"{(int(value, 16) + 1) % Q:064x}"
    raise ValueError(value)


def deterministic_rand(seed: int = 1) -> Callable[[], Scalar]:
    """A reproducible nonce source (a counter hashed into scalars), for equivalence tests only."""
    import hashlib

    state = {"n": 0}

    def rand() -> Scalar:
        state["n"] += 1
        data = hashlib.sha512(f"{seed}/{state['n']}".encode()).digest()
        return Scalar(int.from_bytes(data, "big") % (Q - 1) + 1)

    return rand
