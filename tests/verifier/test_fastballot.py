"""The worker's fast path (verifier/fastballot.py) accepts exactly the ballots the reference code
(crypto.ballot.ballot_verify) accepts: same verdict on valid ballots of every question shape and
on thousands of tampered ones, same tracker, tally points and α keys."""

from __future__ import annotations

import copy
import json
import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crypto.ballot import Ballot, ElectionSpec, QuestionSpec, ballot_encrypt, ballot_verify
from crypto.elgamal import ElectionKey
from crypto.errors import CryptoError
from crypto.group import Point, PointSum, Q, Scalar, base_mul
from crypto.hashing import canonical_json, digest_json
from crypto.signatures import SigningKey
from tests.verifier.boardgen import random_answer
from verifier.ballots import alpha_keys
from verifier.fastballot import BallotBatch, Unrecognised

QUESTIONS = (
    QuestionSpec(5, 1, 1),  # single choice: exact-count, 4 listed, sum values [0, 1]
    QuestionSpec(2, 0, 1),  # referendum with blank: sum values [0, 1]
    QuestionSpec(2, 1, 1),  # yes/no without blank: exact-count, 1 listed
    QuestionSpec(4, 0, 2),  # approval 0..2
    QuestionSpec(3, 0, 3),  # unconstrained approval: no sum proof
    QuestionSpec(4, 2, 3),  # approval 2..3
    QuestionSpec(4, 0, 4, (30, 50, 20, 45), 100),  # budget
    QuestionSpec(3, 1, 2, (0, 7, 1), 1),  # budget of 1 bit, a zero cost, and a sum proof
    QuestionSpec(3, 0, 30, max_score=10),  # score 0..10 (11 branches), no sum proof
    QuestionSpec(4, 1, 5, max_score=3),  # score 0..3 with a total of 1..5: a sum proof
)
SPEC = ElectionSpec(
    digest_json({"test": "fastballot"}), ElectionKey(base_mul(Scalar.random())), QUESTIONS
)


def choices(rng: random.Random) -> list[list[int]]:
    return [random_answer(q, rng) for q in QUESTIONS]


@pytest.fixture(scope="module")
def ballots() -> list[Ballot]:
    rng = random.Random(1)
    return [ballot_encrypt(SPEC, SigningKey(Scalar.random()), choices(rng))[0] for _ in range(6)]


def parsed(value: dict) -> dict:
    """``value`` as the JSON parser hands it over from a canonical line (keys sorted)."""
    return json.loads(canonical_json(value))


def copied(raw) -> Point:
    """An OpenSSL point of the fast path (an arena slot) as a Point of its own."""
    total = PointSum()
    total.add_raw(raw)
    return total.point()


def reference_accepts(value: dict) -> bool:
    try:
        ballot_verify(Ballot.from_json(value), SPEC)
    except (CryptoError, KeyError, TypeError, ValueError, AttributeError):
        return False
    return True


def fast_accepts(value: dict) -> bool:
    batch = BallotBatch(SPEC)
    try:
        _, _, equations = batch.prepare(value, canonical_json(value))
    except (Unrecognised, CryptoError, KeyError, TypeError, ValueError, AttributeError):
        return False
    batch.queue(equations)
    return batch.verify()


def test_valid_ballots_of_every_shape(ballots):
    batch = BallotBatch(SPEC)
    for ballot in ballots:
        value = parsed(ballot.to_json())
        fast, tracker, equations = batch.prepare(value, canonical_json(value))
        batch.queue(equations)
        assert tracker == ballot.tracker()
        assert fast.credential == ballot.credential.to_bytes()
        assert [copied(raw) for raw in fast.points] == [
            p for a in ballot.answers for ct in a.choices for p in (ct.alpha, ct.beta)
        ]
        assert fast.alpha_keys == alpha_keys(ballot)
    assert batch.ballots == len(ballots) and batch.verify()


def test_known_reads_what_later_checks_need_of_every_shape(ballots):
    """``--since``: the credential, tally points and α keys of a ballot verified before, read
    without its proofs, are those of the full decoding (budget bits' α keys included)."""
    batch = BallotBatch(SPEC)
    for ballot in ballots:
        value = parsed(ballot.to_json())
        fast, tracker = batch.known({"ballot": value, "tracker": ballot.tracker()})
        full, _, _ = batch.prepare(value, canonical_json(value))
        assert tracker == ballot.tracker()
        assert (fast.credential, [copied(p) for p in fast.points], fast.alpha_keys) == (
            full.credential,
            [copied(p) for p in full.points],
            full.alpha_keys,
        )
    bad = parsed(ballots[0].to_json())
    bad["answers"] = bad["answers"][:-1]
    with pytest.raises(Unrecognised):  # not the manifest's shape: the general path decides
        batch.known({"ballot": bad, "tracker": ballots[0].tracker()})


def test_one_bad_ballot_fails_the_batch(ballots):
    batch = BallotBatch(SPEC)
    for ballot in ballots:
        value = parsed(ballot.to_json())
        _, _, equations = batch.prepare(value, canonical_json(value))
        batch.queue(equations)
    bad = parsed(ballots[0].to_json())
    bad["signature"]["response"] = Scalar.reduce(int(bad["signature"]["response"], 16) + 1).to_hex()
    _, _, equations = batch.prepare(bad, canonical_json(bad))  # decodes: only the sum fails
    batch.queue(equations)
    assert not batch.verify()


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    yield path


def _get(value, path):
    for step in path:
        value = value[step]
    return value


def _set(value, path, new):
    _get(value, path[:-1])[path[-1]] = new


def _mutations(old, draw):
    """Replacements for a value that keep the ballot decodable as often as possible."""
    if isinstance(old, str) and len(old) == 64:  # a scalar (or a digest)
        return Scalar.reduce(int(old, 16) + draw(st.sampled_from([1, Q - 1, 2**128]))).to_hex()
    if isinstance(old, str) and len(old) == 130:  # a point
        return draw(st.sampled_from([base_mul(Scalar.random()).to_hex(), old.upper(), "00"]))
    if isinstance(old, int):
        return draw(st.sampled_from([old + 1, old - 1, -old, True, None]))
    if isinstance(old, list):
        return draw(st.sampled_from([old[:-1], old + old[-1:], list(reversed(old)), None]))
    if isinstance(old, dict):
        return draw(
            st.sampled_from([{**old, "extra": 1}, {k: old[k] for k in list(old)[1:]}, None])
        )
    return draw(st.sampled_from([None, 0, "", "04" + "0" * 128]))


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_tampered_ballots_get_the_reference_verdict(ballots, data):
    original = data.draw(st.sampled_from(ballots)).to_json()
    value = copy.deepcopy(original)
    paths = list(_leaves(value))[:-1]  # not the whole ballot
    path = data.draw(st.sampled_from(paths))
    _set(value, path, _mutations(_get(value, path), data.draw))
    value = parsed(value)
    assume(canonical_json(value) != canonical_json(original))
    assert fast_accepts(value) == reference_accepts(value) is False, path


def test_swapped_proofs_and_ciphertexts_are_refused(ballots):
    """Proofs are bound to their option, question and credential (§7.3)."""
    value = parsed(ballots[0].to_json())
    a = value["answers"][0]
    a["choice_proofs"][0], a["choice_proofs"][1] = a["choice_proofs"][1], a["choice_proofs"][0]
    assert not fast_accepts(value) and not reference_accepts(value)
    value = parsed(ballots[0].to_json())
    value["answers"][0] = parsed(ballots[1].to_json())["answers"][0]  # another credential's
    assert not fast_accepts(value) and not reference_accepts(value)


def test_unsorted_keys_are_not_vouched_for(ballots):
    """The fast path only reads dicts in canonical key order (the line is not re-encoded)."""
    value = ballots[0].to_json()  # "version" first: not the canonical order
    with pytest.raises(Unrecognised):
        BallotBatch(SPEC).prepare(value, canonical_json(value))
