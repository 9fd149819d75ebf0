"""Nesting depth: parse_json refuses JSON nested beyond MAX_JSON_DEPTH, and canonical_json /
digest_json refuse a value too deep to encode with InvalidEncoding, never a RecursionError
(issue 9 §4: a RecursionError in digest_json answered an unauthenticated request with a 500)."""

from __future__ import annotations

import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.ballot import ballot_encrypt
from crypto.credentials import derive_signing_key, generate_code
from crypto.errors import CryptoError, InvalidEncoding
from crypto.hashing import MAX_JSON_DEPTH, canonical_json, digest_json, parse_json
from tests.crypto.test_ballot import FULL_CHOICES, full_spec  # noqa: F401
from tests.strategies import json_values


def nested_value(depth: int) -> object:
    """``depth`` levels of arrays and objects, alternately, built without recursion."""
    value: object = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def nested_text(depth: int, *, array: bool = True) -> str:
    return ("[" * depth + "]" * depth) if array else ('{"k":' * depth + "1" + "}" * depth)


def depth_of(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    return 0


# --- parse_json ---------------------------------------------------------------------------------


@pytest.mark.parametrize("array", [True, False])
def test_parse_json_accepts_exactly_max_depth(array: bool) -> None:
    assert depth_of(parse_json(nested_text(MAX_JSON_DEPTH, array=array))) == MAX_JSON_DEPTH
    with pytest.raises(InvalidEncoding, match="nested more than 32 levels"):
        parse_json(nested_text(MAX_JSON_DEPTH + 1, array=array))


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100, 900, 940, 990, 5000, 1_000_000])
def test_parse_json_refuses_every_depth_beyond(depth: int) -> None:
    for text in (nested_text(depth), nested_text(depth, array=False)):
        with pytest.raises(InvalidEncoding, match="nested more than"):
            parse_json(text)


@given(
    st.lists(st.tuples(st.booleans(), st.text(alphabet='[]{}"\\ab', max_size=4)), max_size=45),
    json_values(max_leaves=5),
)
@settings(max_examples=300, deadline=None)
def test_parse_json_accepts_exactly_the_values_within_the_limit(wrappers, leaf) -> None:
    """Wrap any protocol value in arrays and objects whose keys hold brackets, quotes and
    backslashes: parsing succeeds exactly when the whole value is at most MAX_JSON_DEPTH deep."""
    value = leaf
    for as_array, key in wrappers:
        value = [value, key] if as_array else {key: value, "z" + key: key}
    text = canonical_json(value)
    if depth_of(value) <= MAX_JSON_DEPTH:
        assert parse_json(text) == value
    else:
        with pytest.raises(InvalidEncoding, match="nested more than"):
            parse_json(text)


def test_parse_json_counts_brackets_outside_strings_only() -> None:
    # Brackets inside strings (escaped quotes included) are text, not nesting.
    text = '["' + "[{" * 100 + '\\"[[[", "\\\\", "]]"]'
    assert parse_json(text) == ["[{" * 100 + '"[[[', "\\", "]]"]
    wide = "[" + ",".join(["[1]"] * 1000) + "]"  # many brackets, depth 2
    assert len(parse_json(wide)) == 1000


def test_parse_json_depth_check_is_linear_on_hostile_text() -> None:
    # Quotes and escaped quotes with no closing quote: malformed, refused quickly (the depth
    # count runs only on well-formed text, where the string pattern cannot backtrack).
    hostile = '"' + '\\"' * 500_000 + "[" * 40
    started = time.perf_counter()
    with pytest.raises(InvalidEncoding):
        parse_json(hostile)
    assert time.perf_counter() - started < 2.0


def test_the_deepest_protocol_value_is_well_inside_the_limit(full_spec) -> None:  # noqa: F811
    """An audit board entry (entry → payload → ballot and its secrets) is the deepest value the
    protocol writes; the limit leaves more than three times its depth."""
    key = derive_signing_key(generate_code(), "00000000-0000-0000-0000-000000000000")
    ballot, secrets = ballot_encrypt(full_spec, key, FULL_CHOICES)
    payload = {"ballot": ballot.to_json(), "randomness": secrets.to_json(), "tracker": "t"}
    entry = {"payload": payload}  # and the entry's other fields, all scalars
    assert depth_of(entry) <= 10
    assert 3 * depth_of(entry) < MAX_JSON_DEPTH
    assert parse_json(canonical_json(entry)) == entry


# --- canonical_json / digest_json ---------------------------------------------------------------


@pytest.mark.parametrize("depth", [sys.getrecursionlimit() + 10, 5 * sys.getrecursionlimit()])
def test_digest_json_refuses_a_value_too_deep_to_encode(depth: int) -> None:
    value = nested_value(depth)
    for encode in (canonical_json, digest_json):
        with pytest.raises(InvalidEncoding, match="nested too deeply"):
            encode(value)


def test_canonicalisation_errors_are_crypto_errors() -> None:
    assert issubclass(InvalidEncoding, CryptoError)
    assert digest_json(nested_value(MAX_JSON_DEPTH)) == digest_json(
        parse_json(canonical_json(nested_value(MAX_JSON_DEPTH)))
    )
