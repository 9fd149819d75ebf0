"""crypto.hashing: RFC 9380 expand_message_xmd, RFC 8785 canonical JSON, strict JSON parsing and
hashing to scalars."""

from __future__ import annotations

import hashlib
import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import InvalidEncoding
from crypto.group import Q, Scalar
from crypto.hashing import (
    DST_PREFIX,
    Tag,
    canonical_json,
    check_digest_hex,
    digest_json,
    expand_message_xmd,
    hash_message_to_value,
    hash_to_scalar,
    parse_json,
    sha256_hex,
)
from tests.strategies import json_values

# --- RFC 9380 Appendix K.1: expand_message_xmd(SHA-256) --------------------------------------------
# DST "QUUX-V01-CS02-with-expander-SHA256-128". Expected outputs as published in RFC 9380 K.1
# (cross-checked against two independent implementations' copies of the appendix).

XMD_DST = b"QUUX-V01-CS02-with-expander-SHA256-128"
MSG_Q128 = b"q128_" + b"q" * 128
MSG_A512 = b"a512_" + b"a" * 512

XMD_VECTORS = [
    (b"", 0x20, "68a985b87eb6b46952128911f2a4412bbc302a9d759667f87f7a21d803f07235"),
    (b"abc", 0x20, "d8ccab23b5985ccea865c6c97b6e5b8350e794e603b4b97902f53a8a0d605615"),
    (
        b"abcdef0123456789",
        0x20,
        "eff31487c770a893cfb36f912fbfcbff40d5661771ca4b2cb4eafe524333f5c1",
    ),
    (MSG_Q128, 0x20, "b23a1d2b4d97b2ef7785562a7e8bac7eed54ed6e97e29aa51bfe3f12ddad1ff9"),
    (MSG_A512, 0x20, "4623227bcc01293b8c130bf771da8c298dede7383243dc0993d2d94823958c4c"),
    (
        b"",
        0x80,
        "af84c27ccfd45d41914fdff5df25293e221afc53d8ad2ac06d5e3e29485dadbe"
        "e0d121587713a3e0dd4d5e69e93eb7cd4f5df4cd103e188cf60cb02edc3edf18"
        "eda8576c412b18ffb658e3dd6ec849469b979d444cf7b26911a08e63cf31f9dc"
        "c541708d3491184472c2c29bb749d4286b004ceb5ee6b9a7fa5b646c993f0ced",
    ),
    (
        b"abc",
        0x80,
        "abba86a6129e366fc877aab32fc4ffc70120d8996c88aee2fe4b32d6c7b6437a"
        "647e6c3163d40b76a73cf6a5674ef1d890f95b664ee0afa5359a5c4e07985635"
        "bbecbac65d747d3d2da7ec2b8221b17b0ca9dc8a1ac1c07ea6a1e60583e2cb00"
        "058e77b7b72a298425cd1b941ad4ec65e8afc50303a22c0f99b0509b4c895f40",
    ),
    (
        b"abcdef0123456789",
        0x80,
        "ef904a29bffc4cf9ee82832451c946ac3c8f8058ae97d8d629831a74c6572bd9"
        "ebd0df635cd1f208e2038e760c4994984ce73f0d55ea9f22af83ba4734569d4b"
        "c95e18350f740c07eef653cbb9f87910d833751825f0ebefa1abe5420bb52be1"
        "4cf489b37fe1a72f7de2d10be453b2c9d9eb20c7e3f6edc5a60629178d9478df",
    ),
    (
        MSG_Q128,
        0x80,
        "80be107d0884f0d881bb460322f0443d38bd222db8bd0b0a5312a6fedb49c1bb"
        "d88fd75d8b9a09486c60123dfa1d73c1cc3169761b17476d3c6b7cbbd727acd0"
        "e2c942f4dd96ae3da5de368d26b32286e32de7e5a8cb2949f866a0b80c58116b"
        "29fa7fabb3ea7d520ee603e0c25bcaf0b9a5e92ec6a1fe4e0391d1cdbce8c68a",
    ),
    (
        MSG_A512,
        0x80,
        "546aff5444b5b79aa6148bd81728704c32decb73a3ba76e9e75885cad9def1d0"
        "6d6792f8a7d12794e90efed817d96920d728896a4510864370c207f99bd4a608"
        "ea121700ef01ed879745ee3e4ceef777eda6d9e5e38b90c86ea6fb0b36504ba4"
        "a45d22e86f6db5dd43d98a294bebb9125d5b794e9d2a81181066eb954966a487",
    ),
]


@pytest.mark.parametrize(
    ("msg", "length", "expected"),
    XMD_VECTORS,
    ids=[f"{m[:8].decode()}-{n:#x}" for m, n, _ in XMD_VECTORS],
)
def test_expand_message_xmd_rfc9380_k1(msg, length, expected):
    assert len(expected) == 2 * length
    assert expand_message_xmd(msg, XMD_DST, length).hex() == expected


def test_expand_message_xmd_prefixes_and_limits():
    long = expand_message_xmd(b"abc", XMD_DST, 255 * 32)
    assert len(long) == 8160
    # the output for a shorter length is NOT a prefix (the length is hashed in)
    assert expand_message_xmd(b"abc", XMD_DST, 0x20) != long[:0x20]
    assert len(expand_message_xmd(b"abc", XMD_DST, 48)) == 48
    with pytest.raises(InvalidEncoding):
        expand_message_xmd(b"abc", XMD_DST, 255 * 32 + 1)
    with pytest.raises(InvalidEncoding):
        expand_message_xmd(b"abc", b"x" * 256, 32)
    assert len(expand_message_xmd(b"abc", b"x" * 255, 32)) == 32


# --- RFC 8785 canonical JSON ---------------------------------------------------------------------


@given(json_values())
@settings(max_examples=400, deadline=None)
def test_canonical_json_equals_rfc8785(value):
    assert canonical_json(value) == rfc8785.dumps(value)


@given(json_values())
@settings(max_examples=200, deadline=None)
def test_parse_json_round_trips_canonical_json(value):
    data = canonical_json(value)
    assert parse_json(data) == value
    assert parse_json(data.decode("utf-8")) == value
    assert canonical_json(parse_json(data)) == data


def test_canonical_json_exact_bytes():
    value = {"b": [1, -2, True, False, None], "a": {"z": "", "A": 'é\x00\n\x1f\x7f\u2028😀"\\/'}}
    assert canonical_json(value) == (
        b'{"a":{"A":"\xc3\xa9\\u0000\\n\\u001f\x7f\xe2\x80\xa8\xf0\x9f\x98\x80\\"\\\\/","z":""},'
        b'"b":[1,-2,true,false,null]}'
    )
    assert canonical_json([]) == b"[]"
    assert canonical_json({}) == b"{}"
    assert canonical_json("\b\t\f\r") == b'"\\b\\t\\f\\r"'
    assert canonical_json(2**53 - 1) == b"9007199254740991"


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        {"x": float("-inf")},
        {1, 2},
        b"bytes",
        object(),
        "\ud800",  # a lone surrogate has no UTF-8 encoding
        {"k": "\udfff"},
        {1: "a", "b": 2},  # mixed key types cannot be sorted
    ],
)
def test_canonical_json_refuses_what_it_cannot_represent(value):
    with pytest.raises(InvalidEncoding):
        canonical_json(value)


def test_digests():
    assert sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert digest_json({"a": 1}) == hashlib.sha256(b'{"a":1}').hexdigest()
    assert check_digest_hex("ab" * 32) == "ab" * 32
    for bad in ("AB" * 32, "ab" * 31, "ab" * 33, "zz" * 32, None, 5, "ab" * 32 + "\n"):
        with pytest.raises(InvalidEncoding):
            check_digest_hex(bad)


# --- Strict parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1.0",
        "1.5",
        "-0.0",
        "1e3",
        "1E3",
        "1e-3",
        '{"a": 2.5}',
        "[1, 2, 3.0]",
        "NaN",
        "Infinity",
        "-Infinity",
        "[NaN]",
        "9007199254740992",  # 2^53
        "-9007199254740992",
        "18446744073709551616",
        "1" * 400,
        '{"a": 1, "a": 1}',
        '{"a": 1, "b": {"c": 1, "c": 2}}',
        '[{"x": 1, "x": 2}]',
        '{"é": 1}',
        '{"a": {"\\u00e9": 1}}',
        '{"\\ud83d\\ude00": 1}',
        "",
        "[1,]",
        "{'a': 1}",
        "01",
        "[1] [2]",
        '"\\x41"',
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_parse_json_refuses(text):
    with pytest.raises(InvalidEncoding):
        parse_json(text)
    with pytest.raises(InvalidEncoding):
        parse_json(text.encode("utf-8"))


@pytest.mark.parametrize(
    "data",
    [
        b'"\xff"',
        b'"\xc3"',
        b'"\xed\xa0\x80"',  # a UTF-8-encoded surrogate (CESU-8)
        b'"\xc0\xaf"',  # overlong "/"
        b'{"a": "\xe9"}',  # Latin-1
        b"\xef\xbb\xbf[1]",  # byte-order mark
        b"\xff\xfe[\x001\x00]\x00",  # UTF-16
    ],
)
def test_parse_json_refuses_invalid_utf8(data):
    with pytest.raises(InvalidEncoding):
        parse_json(data)


def test_parse_json_accepts_the_subset():
    assert parse_json("9007199254740991") == 2**53 - 1
    assert parse_json("-9007199254740991") == -(2**53 - 1)
    assert parse_json(b'{"a": [1, "\xc3\xa9", null, true], "b": {}}') == {
        "a": [1, "é", None, True],
        "b": {},
    }
    assert parse_json('"\\u00e9😀"') == "é😀"  # non-ASCII values are fine
    # canonical JSON never escapes non-ASCII: surrogate escapes, paired or lone, are refused
    for text in ('"\\ud83d\\ude00"', '"\\ud800"', '"\\uDC00"'):
        with pytest.raises(InvalidEncoding):
            parse_json(text)
    assert parse_json(bytearray(b"[]")) == []
    assert parse_json("-0") == 0


# --- hash_to_scalar ---------------------------------------------------------------------------------


def test_hash_to_scalar_is_rfc9380_hash_to_field():
    """``OS2IP(expand_message_xmd(JCS([parts]), "PNYX-V1/" + tag, 48)) mod q`` (docs/protocol.md §3.3)."""
    parts = ("f" * 64, {"public": "04ab"}, {"commitment": "04cd"})
    uniform = expand_message_xmd(
        json.dumps(list(parts), separators=(",", ":"), sort_keys=True).encode(),
        b"PNYX-V1/pok",
        48,
    )
    assert hash_to_scalar(Tag.POK, *parts) == Scalar(int.from_bytes(uniform, "big") % Q)
    assert DST_PREFIX == "PNYX-V1/"


@given(
    st.one_of(
        st.sampled_from(sorted(vars(Tag)[k] for k in vars(Tag) if k.isupper())),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", max_size=247),  # DST up to 255 bytes
    ),
    st.binary(max_size=300),
)
@settings(max_examples=300, deadline=None)
def test_unrolled_hash_to_scalar_equals_the_general_expand_message_xmd(tag, msg):
    """The verifier's unrolled ℓ = 2 path is the RFC 9380 function, byte for byte."""
    uniform = expand_message_xmd(msg, (DST_PREFIX + tag).encode(), 48)
    assert hash_message_to_value(tag, msg) == int.from_bytes(uniform, "big") % Q


@given(st.sampled_from(sorted(vars(Tag)[k] for k in vars(Tag) if k.isupper())), json_values())
@settings(max_examples=100, deadline=None)
def test_hash_to_scalar_is_deterministic_and_in_range(tag, part):
    h = hash_to_scalar(tag, "c" * 64, part)
    assert isinstance(h, Scalar)
    assert 0 <= int(h) < Q
    assert h == hash_to_scalar(tag, "c" * 64, part)


def test_hash_to_scalar_depends_on_tag_and_every_part():
    context = "c" * 64
    statement = {"binding": {"purpose": "x", "trustee": 1}, "public": "04" + "a" * 128}
    commitments = {"commitment": "04" + "b" * 128}
    base = hash_to_scalar(Tag.POK, context, statement, commitments)
    variants = [
        hash_to_scalar(Tag.DLEQ, context, statement, commitments),
        hash_to_scalar("pok ", context, statement, commitments),
        hash_to_scalar(Tag.POK, "d" * 64, statement, commitments),
        hash_to_scalar(Tag.POK, context, {**statement, "public": "04" + "c" * 128}, commitments),
        hash_to_scalar(
            Tag.POK, context, {**statement, "binding": {"purpose": "x", "trustee": 2}}, commitments
        ),
        hash_to_scalar(Tag.POK, context, statement, {"commitment": "04" + "d" * 128}),
        hash_to_scalar(Tag.POK, context, commitments, statement),  # order matters
        hash_to_scalar(Tag.POK, context, statement),  # a part missing
        hash_to_scalar(Tag.POK, context, statement, commitments, None),  # a part added
        hash_to_scalar(Tag.POK, [context, statement, commitments]),  # nesting matters
    ]
    assert all(v != base for v in variants)
    assert len(set(variants)) == len(variants)
    assert hash_to_scalar(Tag.POK, context, statement, commitments) == base


def test_tags_are_distinct():
    tags = [v for k, v in vars(Tag).items() if k.isupper()]
    assert len(tags) == len(set(tags)) == 11
    assert set(tags) == {
        "pok",
        "dleq",
        "selection",
        "score",
        "sum",
        "budget-bit",
        "credential-signature",
        "trustee-signature",
        "decryption-signature",
        "shuffle-permutation",
        "shuffle",
    }
