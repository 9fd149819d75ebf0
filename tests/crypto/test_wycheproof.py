"""Project Wycheproof ECDH P-256 point vectors against our decoders and scalar multiplication.

Every case is a public point (SEC1), a private scalar and the expected x-coordinate of their
product. ``invalid`` cases must be refused by both decoders; ``valid`` ones (all uncompressed) must
decode on the wire and reproduce ``shared``; the one ``acceptable`` case is a compressed point,
which only the interoperability decoder ``from_sec1`` accepts.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from crypto.errors import InvalidPoint
from crypto.group import Point, Q, Scalar

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "wycheproof"
FILE = VECTORS / "ecdh_secp256r1_ecpoint_test.json"
SHA256 = "648f16d077caf2400d02331ca51f44744c72c799830c8d0595d0b18b6dd9f886"

DATA = json.loads(FILE.read_text(encoding="utf-8"))
CASES = [case for group in DATA["testGroups"] for case in group["tests"]]


def _private(case: dict) -> Scalar:
    # hex, possibly with a leading 00 byte (DER-style sign byte): reduce as an integer
    value = int(case["private"], 16)
    assert 0 < value < Q  # every private key of the file is a proper scalar
    return Scalar(value % Q)


def _shared(point: Point, k: Scalar) -> str:
    return (point * k).to_bytes()[1:33].hex()


def test_the_file_is_the_pinned_copy():
    assert hashlib.sha256(FILE.read_bytes()).hexdigest() == SHA256
    assert (VECTORS / "README.md").is_file()
    assert (VECTORS / "LICENSE-NOTE.md").is_file()


def test_every_case_is_accounted_for():
    assert DATA["algorithm"] == "ECDH"
    assert DATA["numberOfTests"] == 355
    assert len(CASES) == 355
    assert len({c["tcId"] for c in CASES}) == 355
    assert [g["curve"] for g in DATA["testGroups"]] == ["secp256r1"]
    assert [g["encoding"] for g in DATA["testGroups"]] == ["ecpoint"]
    assert Counter(c["result"] for c in CASES) == {"valid": 330, "invalid": 24, "acceptable": 1}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"tc{c['tcId']}-{c['result']}")
def test_case(case):
    public = bytes.fromhex(case["public"])
    result = case["result"]
    if result == "invalid":
        with pytest.raises(InvalidPoint):
            Point.from_bytes(public)
        with pytest.raises(InvalidPoint):
            Point.from_sec1(public)
        if public:
            with pytest.raises(InvalidPoint):
                Point.from_hex(case["public"])
        return

    k = _private(case)
    if result == "valid":
        assert len(public) == 65 and public[0] == 4
        point = Point.from_bytes(public)
        assert _shared(point, k) == case["shared"]
        # the other decoders and multiplication paths agree
        assert Point.from_hex(case["public"]) == point
        assert Point.from_sec1(public) == point
        assert point.to_bytes() == public
        return

    assert result == "acceptable"
    assert "CompressedPoint" in case["flags"]
    with pytest.raises(InvalidPoint):
        Point.from_bytes(public)
    with pytest.raises(InvalidPoint):
        Point.from_hex(case["public"])
    point = Point.from_sec1(public)
    assert _shared(point, k) == case["shared"]
