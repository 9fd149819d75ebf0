"""crypto.credentials: credential codes (checksum, normalisation, aliases) and key derivation."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.credentials import (
    ALPHABET,
    CODE_LENGTH,
    PBKDF2_ITERATIONS,
    derive_signing_key,
    format_code,
    generate_code,
    normalize_code,
)
from crypto.errors import InvalidCredential
from crypto.group import Q, base_mul
from tests.strategies import credential_codes, election_uuids

# A fixed code with several 0s and 1s (for the alias tests); its check characters are verified
# against the formula of docs/protocol.md §6.1 below.
CODE = "01101ZZ7KD2MQ0XHA9S8"
ELECTION = "3f2c6a52-8f1e-4c4e-9b1d-0c7e5a9d2b11"


def spec_checksum(data: str) -> str:
    n = 0
    for ch in data:
        n = n * 32 + ALPHABET.index(ch)
    check = n % 1021
    return ALPHABET[check // 32] + ALPHABET[check % 32]


def test_alphabet_is_crockford():
    assert ALPHABET == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    assert len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)
    assert CODE_LENGTH == 20


def test_fixed_code_checksum():
    assert spec_checksum(CODE[:18]) == CODE[18:]
    assert normalize_code(CODE) == CODE
    assert normalize_code("0" * 20) == "0" * 20  # N = 0: check characters "00"


@given(credential_codes())
@settings(max_examples=100, deadline=None)
def test_generated_codes(code):
    assert len(code) == 20
    assert set(code) <= set(ALPHABET)
    assert spec_checksum(code[:18]) == code[18:]
    assert normalize_code(code) == code
    formatted = format_code(code)
    assert formatted == "-".join(code[i : i + 5] for i in range(0, 20, 5))
    assert len(formatted) == 23 and formatted.count("-") == 3
    assert normalize_code(formatted) == code
    assert normalize_code(formatted.lower()) == code
    assert normalize_code(" ".join(code)) == code
    assert normalize_code(f"  {code[:10]}\t{code[10:]}\n") == code
    assert format_code(formatted.lower()) == formatted


def test_generated_codes_are_random():
    codes = {generate_code() for _ in range(200)}
    assert len(codes) == 200
    first = {c[0] for c in codes}
    assert len(first) > 20  # every alphabet character is possible in every random position


def test_every_single_substitution_is_caught():
    caught = 0
    for position in range(20):
        for ch in ALPHABET:
            if ch == CODE[position]:
                continue
            typo = CODE[:position] + ch + CODE[position + 1 :]
            with pytest.raises(InvalidCredential):
                normalize_code(typo)
            caught += 1
    assert caught == 20 * 31


def test_every_adjacent_transposition_is_caught():
    caught = 0
    for position in range(19):
        a, b = CODE[position], CODE[position + 1]
        if a == b:
            continue  # swapping equal characters changes nothing
        swapped = CODE[:position] + b + a + CODE[position + 2 :]
        with pytest.raises(InvalidCredential):
            normalize_code(swapped)
        caught += 1
    assert caught == 17  # CODE has two pairs of equal neighbours ("11", "ZZ")


@given(credential_codes(), st.integers(0, 19), st.integers(1, 31))
@settings(max_examples=300, deadline=None)
def test_substitutions_are_caught_for_any_code(code, position, shift):
    ch = ALPHABET[(ALPHABET.index(code[position]) + shift) % 32]
    with pytest.raises(InvalidCredential):
        normalize_code(code[:position] + ch + code[position + 1 :])


@given(credential_codes(), st.integers(0, 18))
@settings(max_examples=300, deadline=None)
def test_transpositions_are_caught_for_any_code(code, position):
    a, b = code[position], code[position + 1]
    swapped = code[:position] + b + a + code[position + 2 :]
    if a == b:
        assert normalize_code(swapped) == code
    else:
        with pytest.raises(InvalidCredential):
            normalize_code(swapped)


def test_aliases():
    assert "0" in CODE and "1" in CODE
    for zero in "Oo":
        for one in "IiLl":
            typed = CODE.replace("0", zero).replace("1", one)
            assert typed != CODE
            assert normalize_code(typed) == CODE
            assert normalize_code(format_code(CODE).replace("0", zero).replace("1", one)) == CODE
    # mixed aliases in one code
    assert normalize_code("oIl0lZZ7KD2MQOXHA9S8") == CODE


@pytest.mark.parametrize(
    "text",
    [
        "",
        CODE[:-1],
        CODE + "0",
        CODE[:-1] + "U",  # U is not in the alphabet (and not an alias)
        CODE.replace("Z", "U"),
        CODE[:10] + "_" + CODE[11:],
        CODE[:10] + "." + CODE[10:],
        CODE + "-" * 50,  # more than 64 characters
        "0" * 19 + "1",
    ],
)
def test_malformed_codes(text):
    with pytest.raises(InvalidCredential):
        normalize_code(text)
    with pytest.raises(InvalidCredential):
        format_code(text)
    with pytest.raises(InvalidCredential):
        derive_signing_key(text, ELECTION)


@pytest.mark.parametrize("value", [None, 12345, b"01101ZZ7KD2MQ0XHA9S8", ["0"] * 20])
def test_codes_must_be_strings(value):
    with pytest.raises(InvalidCredential):
        normalize_code(value)


# --- Derivation -------------------------------------------------------------------------------------


def test_derivation_follows_the_specification():
    """``s = OS2IP(PBKDF2-HMAC-SHA256(code, "pnyx/v1/credential/" ‖ E, 1000, 48)) mod q``."""
    assert PBKDF2_ITERATIONS == 1000
    seed = hashlib.pbkdf2_hmac(
        "sha256", CODE.encode(), ("pnyx/v1/credential/" + ELECTION).encode(), 1000, 48
    )
    key = derive_signing_key(CODE, ELECTION)
    assert int(key.secret) == int.from_bytes(seed, "big") % Q
    assert key.public == base_mul(key.secret)


@given(credential_codes(), election_uuids(), election_uuids())
@settings(max_examples=30, deadline=None)
def test_derivation_is_per_code_and_election(code, election, other_election):
    key = derive_signing_key(code, election)
    assert derive_signing_key(code, election).public == key.public
    assert derive_signing_key(format_code(code).lower(), election).public == key.public
    assert derive_signing_key(code, uuid.UUID(election)).public == key.public
    if other_election != election:
        assert derive_signing_key(code, other_election).public != key.public
    assert derive_signing_key(generate_code(), election).public != key.public


def test_typing_variants_give_the_same_key():
    key = derive_signing_key(CODE, ELECTION)
    for typed in (
        format_code(CODE),
        CODE.lower(),
        "oil0lZZ7KD2MQOXHA9S8",
        f" {format_code(CODE)} ",
    ):
        assert derive_signing_key(typed, ELECTION).public == key.public


@pytest.mark.parametrize(
    "election",
    [
        "",
        "not-a-uuid",
        ELECTION.upper(),  # not the lowercase form
        ELECTION.replace("-", ""),  # not hyphenated
        "{" + ELECTION + "}",
        "urn:uuid:" + ELECTION,
        ELECTION[:-1],
        ELECTION + "0",
        None,
        12345,
    ],
)
def test_bad_election_uuids_are_refused(election):
    with pytest.raises(InvalidCredential):
        derive_signing_key(CODE, election)


def test_signing_key_hides_its_secret():
    key = derive_signing_key(CODE, ELECTION)
    assert key.secret.to_hex() not in repr(key)
    assert "redacted" in repr(key)
