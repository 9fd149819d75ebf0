"""Strict decoding of the protocol's JSON objects.

Every ``from_json`` in the core goes through these helpers: an object must have exactly the
expected keys, each field the expected type, points and scalars their one canonical encoding.
Anything else raises :class:`~crypto.errors.InvalidEncoding` (or a subclass) naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from crypto.errors import InvalidEncoding
from crypto.group import Point, Scalar

T = TypeVar("T")

PROTOCOL_VERSION = 1


def expect_object(value: Any, keys: Iterable[str], what: str, optional: Iterable[str] = ()) -> dict:
    """``value`` must be a JSON object whose keys are exactly ``keys`` (plus any of ``optional``)."""
    if not isinstance(value, dict):
        raise InvalidEncoding(f"{what}: expected a JSON object")
    required = set(keys)
    allowed = required | set(optional)
    present = set(value)
    missing = required - present
    if missing:
        raise InvalidEncoding(f"{what}: missing field(s) {sorted(missing)}")
    extra = present - allowed
    if extra:
        raise InvalidEncoding(f"{what}: unexpected field(s) {sorted(extra)}")
    return value


def expect_version(obj: dict, what: str) -> None:
    version = obj.get("version")
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise InvalidEncoding(
            f"{what}: unsupported version {version!r} (expected {PROTOCOL_VERSION})"
        )


def expect_list(value: Any, what: str, length: int | None = None, min_length: int = 0) -> list:
    if not isinstance(value, list):
        raise InvalidEncoding(f"{what}: expected a JSON array")
    if length is not None and len(value) != length:
        raise InvalidEncoding(f"{what}: expected {length} items, got {len(value)}")
    if len(value) < min_length:
        raise InvalidEncoding(f"{what}: expected at least {min_length} items")
    return value


def expect_int(
    value: Any, what: str, minimum: int | None = None, maximum: int | None = None
) -> int:
    if type(value) is not int:
        raise InvalidEncoding(f"{what}: expected an integer")
    if minimum is not None and value < minimum:
        raise InvalidEncoding(f"{what}: must be ≥ {minimum}")
    if maximum is not None and value > maximum:
        raise InvalidEncoding(f"{what}: must be ≤ {maximum}")
    return value


def expect_str(value: Any, what: str, max_length: int = 10_000) -> str:
    if not isinstance(value, str):
        raise InvalidEncoding(f"{what}: expected a string")
    if len(value) > max_length:
        raise InvalidEncoding(f"{what}: longer than {max_length} characters")
    return value


def read_point(value: Any, what: str, *, allow_identity: bool = False) -> Point:
    try:
        return Point.from_hex(value, allow_identity=allow_identity)
    except InvalidEncoding as exc:
        raise type(exc)(f"{what}: {exc}") from None


def read_scalar(value: Any, what: str, *, nonzero: bool = False) -> Scalar:
    try:
        return Scalar.from_hex(value, nonzero=nonzero)
    except InvalidEncoding as exc:
        raise type(exc)(f"{what}: {exc}") from None


def read_list(
    value: Any, what: str, item: Callable[[Any, str], T], length: int | None = None
) -> tuple[T, ...]:
    items = expect_list(value, what, length)
    return tuple(item(v, f"{what}[{i}]") for i, v in enumerate(items))
