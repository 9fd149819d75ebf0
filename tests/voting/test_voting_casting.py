"""Casting: the receipt, every rejection (its error code, and the board head unmoved), revoting
and weights, Benaloh audits."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.test import Client
from django.utils import timezone

from crypto.credentials import derive_signing_key, generate_code
from crypto.hashing import canonical_json
from crypto.signatures import Signature
from identity.models import Voter
from tests.voting.factories import (
    EVERY_KIND,
    RollVoter,
    board_head_of,
    build_election,
    login,
    post_json,
)
from voting.models import Ballot
from voting.receipts import RECEIPT_DOMAIN, RECEIPT_FIELDS
from voting.selectors import (
    BallotPrecheck,
    ballots_counted,
    ballots_counted_with_weights,
    election_manifest,
)
from voting.services.elections import election_close

pytestmark = pytest.mark.django_db


def cast(client: Client, election, ballot, **extra):
    body = ballot if isinstance(ballot, (bytes, str)) else json.dumps(ballot.to_json())
    return client.post(
        f"/api/elections/{election.election.pk}/ballots/",
        body,
        content_type=extra.pop("content_type", "application/json"),
        **extra,
    )


def assert_rejected(response, status: int, code: str, head_before, election) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    assert board_head_of(election.election) == head_before, "the board moved"
    assert not Ballot.objects.filter(election=election.election).exists()
    return error


# --- Accepted ------------------------------------------------------------------------------


def test_cast_returns_a_signed_receipt(client, open_election) -> None:
    login(client, open_election.voters[0])
    ballot = open_election.ballot(0)
    before, _ = board_head_of(open_election.election)

    response = cast(client, open_election, ballot)

    assert response.status_code == 201, response.content
    receipt = response.json()
    seq, head_hash = board_head_of(open_election.election)
    assert seq == before + 1
    assert receipt["tracker"] == ballot.tracker()
    assert receipt["seq"] == seq and receipt["entry_hash"] == head_hash
    assert receipt["head"] == {"seq": seq, "hash": head_hash}
    assert receipt["election"] == str(open_election.election.pk)
    assert receipt["kind"] == "ballot"

    # The signature verifies offline with the published board key.
    key = client.get("/api/board-key").json()
    assert key["algorithm"] == "Ed25519"
    message = RECEIPT_DOMAIN + canonical_json({k: receipt[k] for k in RECEIPT_FIELDS})
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(key["public_key"])).verify(
        bytes.fromhex(receipt["signature"]), message
    )
    # ... and it is the key of the board's genesis entry.
    genesis = client.get(f"{open_election.url}/board/?limit=1").json()["results"][0]
    assert genesis["payload"]["board_key"] == key["public_key"]

    # The server confirms the receipt; a forged one fails.
    check = post_json(client, f"{open_election.url}/receipts/verify/", receipt).json()
    assert check == {"signature_valid": True, "on_board": True, "superseded_by": None}
    forged = {**receipt, "seq": receipt["seq"] - 1}
    check = post_json(client, f"{open_election.url}/receipts/verify/", forged).json()
    assert check["signature_valid"] is False and check["on_board"] is False

    # The voter is marked as having voted (the day only), and the ballot is on the board.
    voter = Voter.objects.get(pk=open_election.voters[0].voter.pk)
    assert voter.voted_at is not None and voter.voted_at.hour == 0
    entry = client.get(f"{open_election.url}/board/ballots/{ballot.tracker()}").json()
    assert entry["entry"]["payload"] == {"ballot": ballot.to_json(), "tracker": ballot.tracker()}
    assert entry["superseded_by"] is None


def test_every_question_kind_can_be_cast(client, open_election_factory) -> None:
    election = open_election_factory(questions=EVERY_KIND, voters=1)
    login(client, election.voters[0])
    choices = [[0, 1], [0, 0, 1], [1, 0, 1, 0], [1, 0, 1, 0]]  # budget 60 + 15 ≤ 100
    response = cast(client, election, election.ballot(0, choices))
    assert response.status_code == 201, response.content


# --- Rejected, in the order of the checks -------------------------------------------------------


def test_not_authenticated(client, open_election) -> None:
    head = board_head_of(open_election.election)
    response = cast(client, open_election, open_election.ballot(0))
    assert_rejected(response, 401, "not_authenticated", head, open_election)
    assert response["WWW-Authenticate"]


def test_a_session_for_another_election_does_not_count(client, open_election_factory) -> None:
    first, second = open_election_factory(), open_election_factory()
    login(client, first.voters[0])
    head = board_head_of(second.election)
    response = cast(client, second, second.ballot(0))
    assert_rejected(response, 401, "not_authenticated", head, second)


def test_election_not_open(client, open_election) -> None:
    login(client, open_election.voters[0])
    ballot = open_election.ballot(0)
    election_close(election=open_election.election, acting_user=None)
    head = board_head_of(open_election.election)
    response = cast(client, open_election, ballot)
    assert_rejected(response, 409, "election_not_open", head, open_election)


def test_closing_is_seen_under_the_board_lock(client, open_election) -> None:
    """A process that saw the election open a moment ago still refuses after the close."""
    login(client, open_election.voters[0])
    assert cast(client, open_election, open_election.ballot(0)).status_code == 201
    election_close(election=open_election.election, acting_user=None)
    head = board_head_of(open_election.election)
    response = cast(
        login(Client(), open_election.voters[1]), open_election, open_election.ballot(1)
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "election_not_open"
    assert board_head_of(open_election.election) == head


def test_outside_voting_window(client, open_election_factory) -> None:
    later = timezone.now() + timedelta(hours=1)
    election = open_election_factory(opens_at=later, closes_at=later + timedelta(hours=1))
    login(client, election.voters[0])
    head = board_head_of(election.election)
    response = cast(client, election, election.ballot(0))
    assert_rejected(response, 409, "outside_voting_window", head, election)


def test_payload_too_large(client, open_election) -> None:
    login(client, open_election.voters[0])
    limit = election_manifest(election=open_election.election).ballot_max_bytes
    body = json.dumps(open_election.ballot(0).to_json()) + " " * limit
    head = board_head_of(open_election.election)
    response = cast(client, open_election, body)
    error = assert_rejected(response, 413, "payload_too_large", head, open_election)
    assert str(limit) in error["message"]


def test_the_limit_follows_the_election_and_has_a_cap(open_election_factory, settings) -> None:
    small = open_election_factory(voters=1)
    big = open_election_factory(voters=1, questions=EVERY_KIND)
    small_limit = election_manifest(election=small.election).ballot_max_bytes
    big_limit = election_manifest(election=big.election).ballot_max_bytes
    assert len(canonical_json(small.ballot(0).to_json())) < small_limit < big_limit
    assert small_limit < 64 * 1024


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2, 3]",
        b'{"version": 1.0}',
        b"\xff\xfe",
    ],
    ids=["syntax", "not-an-object", "float", "not-utf8"],
)
def test_malformed_json_is_invalid_ballot(client, open_election, body) -> None:
    login(client, open_election.voters[0])
    head = board_head_of(open_election.election)
    response = cast(client, open_election, body)
    assert_rejected(response, 400, "invalid_ballot", head, open_election)


def test_malformed_points_are_invalid_ballot(client, open_election) -> None:
    login(client, open_election.voters[0])
    data = open_election.ballot(0).to_json()
    alpha = data["answers"][0]["choices"][0]["alpha"]
    data["answers"][0]["choices"][0]["alpha"] = alpha[:-4] + "0000"  # off the curve
    head = board_head_of(open_election.election)
    error = assert_rejected(
        cast(client, open_election, json.dumps(data)), 400, "invalid_ballot", head, open_election
    )
    assert "choices[0].alpha" in error["message"]


def test_wrong_shape_is_invalid_ballot(client, open_election) -> None:
    login(client, open_election.voters[0])
    data = open_election.ballot(0).to_json()
    data["answers"][0]["choices"].pop()
    data["answers"][0]["choice_proofs"].pop()
    head = board_head_of(open_election.election)
    error = assert_rejected(
        cast(client, open_election, json.dumps(data)), 400, "invalid_ballot", head, open_election
    )
    assert "question 1" in error["message"]


def test_ballot_for_another_election_is_wrong_election(client, open_election_factory) -> None:
    first, second = open_election_factory(), open_election_factory()
    login(client, second.voters[0])
    head = board_head_of(second.election)
    response = cast(client, second, first.ballot(0))
    assert_rejected(response, 400, "wrong_election", head, second)


def test_credential_not_on_the_list(client, open_election) -> None:
    login(client, open_election.voters[0])
    # A well-formed credential of this election that nobody published.
    key = derive_signing_key(generate_code(), str(open_election.election.pk))
    stranger = RollVoter(open_election.voters[0].voter, "", key)
    head = board_head_of(open_election.election)
    response = cast(client, open_election, open_election.ballot(stranger))
    assert_rejected(response, 403, "unknown_credential", head, open_election)


def test_invalid_signature(client, open_election) -> None:
    login(client, open_election.voters[0])
    ballot = open_election.ballot(0)
    data = ballot.to_json()
    other = open_election.ballot(1).signature  # a valid signature, over another ballot
    data["signature"] = Signature(other.commitment, other.response).to_json()
    head = board_head_of(open_election.election)
    response = cast(client, open_election, json.dumps(data))
    assert_rejected(response, 400, "invalid_signature", head, open_election)


def test_invalid_proof_names_the_question_and_option(client, open_election) -> None:
    login(client, open_election.voters[0])
    data = open_election.ballot(0).to_json()
    # Swap two options' ciphertexts and proofs: each proof now sits at the wrong option, and
    # the signature no longer matches either (signatures are checked first), so re-sign.
    from crypto.ballot import Ballot as CryptoBallot
    from crypto.signatures import sign

    answer = data["answers"][0]
    answer["choice_proofs"][1], answer["choice_proofs"][2] = (
        answer["choice_proofs"][2],
        answer["choice_proofs"][1],
    )
    unsigned = CryptoBallot.from_json(data)
    signature = sign(
        open_election.voters[0].key, unsigned.content_digest(), context=unsigned.election
    )
    data["signature"] = signature.to_json()
    head = board_head_of(open_election.election)
    error = assert_rejected(
        cast(client, open_election, json.dumps(data)), 400, "invalid_proof", head, open_election
    )
    assert "question 1 option 2" in error["message"]


def test_the_same_ballot_again_is_answered_with_its_receipt(client, open_election) -> None:
    """Idempotent re-post (tests/voting/test_voting_resend.py): 200, the first receipt, the
    board unmoved."""
    login(client, open_election.voters[0])
    ballot = open_election.ballot(0)
    first = cast(client, open_election, ballot)
    assert first.status_code == 201
    head = board_head_of(open_election.election)
    response = cast(client, open_election, ballot)
    assert (response.status_code, response.content) == (200, first.content)
    assert board_head_of(open_election.election) == head
    assert Ballot.objects.filter(election=open_election.election).count() == 1


def test_replay_by_another_voter_is_a_duplicate(open_election) -> None:
    ballot = open_election.ballot(0)
    assert cast(login(Client(), open_election.voters[0]), open_election, ballot).status_code == 201
    head = board_head_of(open_election.election)
    response = cast(login(Client(), open_election.voters[1]), open_election, ballot)
    assert response.json()["error"]["code"] == "duplicate_ballot"
    assert board_head_of(open_election.election) == head


def test_not_json_content_type(client, open_election) -> None:
    login(client, open_election.voters[0])
    head = board_head_of(open_election.election)
    body = json.dumps(open_election.ballot(0).to_json())
    response = cast(client, open_election, body, content_type="text/plain")
    assert_rejected(response, 415, "unsupported_media_type", head, open_election)


def test_csrf_token_is_required(open_election) -> None:
    client = Client(enforce_csrf_checks=True)
    login(client, open_election.voters[0])
    head = board_head_of(open_election.election)
    ballot = open_election.ballot(0)
    response = cast(client, open_election, ballot)
    assert_rejected(response, 403, "forbidden", head, open_election)

    client.get(f"{open_election.url}/me/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    assert cast(client, open_election, ballot, HTTP_X_CSRFTOKEN=token).status_code == 201


# --- Revoting and weights ------------------------------------------------------------------------


def test_revoting_counts_the_last_ballot_with_its_weight(client, open_election_factory) -> None:
    election = open_election_factory(voters=3, weights=[1, 5, 2])
    voters = election.voters
    trackers = {}
    for who, choices in [(0, [[1, 0, 0, 0, 0]]), (1, [[0, 1, 0, 0, 0]]), (1, [[0, 0, 1, 0, 0]])]:
        login(client, voters[who])
        ballot = election.ballot(who, choices)
        response = cast(client, election, ballot)
        assert response.status_code == 201
        trackers.setdefault(who, []).append(ballot.tracker())

    counted = list(ballots_counted(election=election.election))
    assert [(b.tracker, b.weight) for b in counted] == [
        (trackers[0][0], 1),
        (trackers[1][1], 5),
    ]
    first = Ballot.objects.get(tracker=trackers[1][0])
    assert first.superseded_by.tracker == trackers[1][1]
    assert Ballot.objects.get(tracker=trackers[1][1]).supersedes == first

    pairs = list(ballots_counted_with_weights(election=election.election))
    assert [(b.tracker(), w) for b, w in pairs] == [(trackers[0][0], 1), (trackers[1][1], 5)]

    # The board keeps both ballots; the lookup says which one replaced the first.
    looked_up = client.get(f"{election.url}/board/ballots/{trackers[1][0]}").json()
    assert looked_up["superseded_by"] == trackers[1][1]
    head = client.get(f"{election.url}/board/head").json()
    assert head["kinds"]["ballot"] == 3

    turnout = client.get(f"{election.url}/me/").json()
    assert turnout["voted"] is True


# --- Audits ---------------------------------------------------------------------------------


def audit(client, election, ballot, randomness):
    return post_json(
        client,
        f"{election.url}/audits/",
        {"ballot": ballot.to_json(), "randomness": randomness.to_json()},
    )


def test_audit_returns_the_plaintexts_and_the_ballot_can_never_be_cast(
    client, open_election
) -> None:
    login(client, open_election.voters[0])
    ballot = open_election.ballot(0, [[0, 0, 1, 0, 0]])
    response = audit(client, open_election, ballot, open_election.secrets[ballot.tracker()])
    assert response.status_code == 201, response.content
    result = response.json()
    assert result["receipt"]["kind"] == "audit"
    assert result["plaintexts"] == [
        {
            "question": "q1",
            "selections": [{"option": f"q1o{i}", "selected": i == 3} for i in range(1, 6)],
        }
    ]
    entry = client.get(f"{open_election.url}/board/ballots/{ballot.tracker()}").json()["entry"]
    assert entry["kind"] == "audit"
    assert entry["payload"]["randomness"] == open_election.secrets[ballot.tracker()].to_json()

    head = board_head_of(open_election.election)
    response = cast(client, open_election, ballot)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ballot_was_audited"
    assert board_head_of(open_election.election) == head
    assert list(ballots_counted(election=open_election.election)) == []
    assert Voter.objects.get(pk=open_election.voters[0].voter.pk).voted_at is None


def test_audit_with_wrong_randomness(client, open_election) -> None:
    login(client, open_election.voters[0])
    ballot, other = open_election.ballot(0), open_election.ballot(0)
    head = board_head_of(open_election.election)
    response = audit(client, open_election, ballot, open_election.secrets[other.tracker()])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_randomness"
    assert board_head_of(open_election.election) == head


def test_a_cast_ballot_cannot_be_audited(client, open_election) -> None:
    login(client, open_election.voters[0])
    ballot = open_election.ballot(0)
    assert cast(client, open_election, ballot).status_code == 201
    head = board_head_of(open_election.election)
    response = audit(client, open_election, ballot, open_election.secrets[ballot.tracker()])
    assert response.json()["error"]["code"] == "duplicate_ballot"
    assert board_head_of(open_election.election) == head


def test_audits_per_voter_are_limited(client, open_election, settings) -> None:
    settings.PNYX_AUDITS_PER_VOTER = 1
    login(client, open_election.voters[0])
    first, second = open_election.ballot(0), open_election.ballot(0)
    assert (
        audit(client, open_election, first, open_election.secrets[first.tracker()]).status_code
        == 201
    )
    response = audit(client, open_election, second, open_election.secrets[second.tracker()])
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "audit_limit_reached"


def test_every_kind_of_ballot_fits_the_size_estimate(open_election_factory) -> None:
    from voting.services.manifest import ballot_size_estimate, randomness_size_estimate

    election = build_election(questions=EVERY_KIND, voters=1)
    ballot = election.ballot(0, [[1, 0], [0, 1, 0], [1, 1, 0, 0], [0, 1, 1, 1]])
    secrets = election.secrets[ballot.tracker()]
    questions = election.manifest.questions
    assert len(canonical_json(ballot.to_json())) <= ballot_size_estimate(questions)
    assert len(canonical_json(secrets.to_json())) <= randomness_size_estimate(questions)
    # and not wildly above it
    assert ballot_size_estimate(questions) < 1.5 * len(canonical_json(ballot.to_json()))


# --- The append's own guards, inside a test transaction and committed for real ---------------


@pytest.mark.parametrize(
    "transactional",
    [pytest.param(False, id="in-a-transaction"), pytest.param(True, id="committed")],
)
def test_the_append_guards_roll_back(request, transactional, monkeypatch) -> None:
    """A replay that slipped past the pre-check hits the database's unique constraint, and a
    close that happened after it is seen under the lock: both roll back, the board unmoved (the
    replay, being the voter's own ballot, is answered with its receipt)."""
    if transactional:
        request.getfixturevalue("transactional_db")
    election = build_election(voters=2)
    client = login(Client(), election.voters[0])
    ballot = election.ballot(0)
    first = cast(client, election, ballot)
    assert first.status_code == 201
    head = board_head_of(election.election)

    import voting.services.casting as casting

    monkeypatch.setattr(
        casting,
        "ballot_precheck",
        lambda **kwargs: BallotPrecheck(published=True, on_board=None, bound_tag=None),
    )
    response = cast(client, election, ballot)
    assert (response.status_code, response.content) == (200, first.content)
    assert board_head_of(election.election) == head
    assert Ballot.objects.filter(election=election.election).count() == 1

    monkeypatch.undo()
    other = election.ballot(1)
    election_close(election=election.election, acting_user=None)  # appends a state entry
    closed = board_head_of(election.election)
    response = cast(login(Client(), election.voters[1]), election, other)
    assert response.json()["error"]["code"] == "election_not_open"
    assert board_head_of(election.election) == closed == (head[0] + 1, closed[1])
    assert Ballot.objects.filter(election=election.election).count() == 1
    # The connection is clean afterwards.
    assert client.get(f"{election.url}/board/head").json()["seq"] == closed[0]


# --- The single-statement append (PostgreSQL) ------------------------------------------------


def test_appended_lines_are_the_canonical_entries(client, open_election_factory) -> None:
    """The entry the database builds and hashes (pnyx_append_ballot on PostgreSQL) is, byte for
    byte, crypto.board's canonical entry, and a revote supersedes the earlier ballot."""
    from board.models import BoardEntry, BoardHead
    from crypto.board import BoardEntry as ChainEntry

    election = open_election_factory(voters=2)
    first, revote = election.ballot(0), election.ballot(0, [[0, 0, 0, 0, 1]])
    other = election.ballot(1)
    receipts = []
    for voter, ballot in ((0, first), (1, other), (0, revote)):
        response = cast(login(Client(), election.voters[voter]), election, ballot)
        assert response.status_code == 201, response.content
        receipts.append(response.json())
    rows = BoardEntry.objects.filter(election=election.election, kind="ballot").order_by("seq")
    assert [row.tracker for row in rows] == [b.tracker() for b in (first, other, revote)]
    for row, ballot, receipt in zip(rows, (first, other, revote), receipts, strict=True):
        expected = ChainEntry.create(
            election=str(election.election.pk),
            seq=row.seq,
            kind="ballot",
            time=row.time,
            prev=row.prev,
            payload={"ballot": ballot.to_json(), "tracker": ballot.tracker()},
        )
        assert row.line.encode() == canonical_json(expected.to_json())
        assert ChainEntry.from_canonical_line(row.line.encode() + b"\n") == expected
        assert (
            (row.hash, row.seq)
            == (expected.hash, receipt["seq"])
            == (
                receipt["entry_hash"],
                receipt["seq"],
            )
        )
    head = BoardHead.objects.get(election=election.election)
    assert (head.seq, head.hash, head.time) == (rows[2].seq, rows[2].hash, rows[2].time)
    assert [row.prev for row in rows[1:]] == [row.hash for row in rows[:2]]
    ballots = {b.tracker: b for b in Ballot.objects.filter(election=election.election)}
    assert ballots[revote.tracker()].supersedes == ballots[first.tracker()]
    assert ballots[other.tracker()].supersedes is None
    assert ballots[first.tracker()].points == bytes(
        b"".join(
            ct.alpha.to_bytes() + ct.beta.to_bytes() for a in first.answers for ct in a.choices
        )
    )


@pytest.mark.django_db(transaction=True)
def test_a_close_committed_while_waiting_for_the_lock_is_seen(request) -> None:
    """A ballot that waits for the board lock while the election is being closed is refused
    once the close commits: the election is read after the lock is granted."""
    import threading

    import psycopg
    from django.db import connection, transaction

    from board.services import board_lock

    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent PostgreSQL transactions")
    election = build_election(voters=1)
    client = login(Client(), election.voters[0])
    ballot = election.ballot(0)
    answer: list = []

    def voter() -> None:
        try:
            answer.append(cast(client, election, ballot))
        finally:
            connection.close()

    settings_dict = connection.settings_dict
    watcher = psycopg.connect(
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        user=settings_dict["USER"] or None,
        password=settings_dict["PASSWORD"] or None,
        dbname=settings_dict["NAME"],
        autocommit=True,
    )
    request.addfinalizer(watcher.close)
    thread = threading.Thread(target=voter)
    with transaction.atomic():
        board_lock(election_id=election.election.pk)  # hold the lock, as a close does
        thread.start()
        for _ in range(500):  # until the voter's append waits for the lock
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE '%%pnyx_append_ballot%%'"
            ).fetchone()[0]
            if waiting:
                break
            threading.Event().wait(0.02)
        else:
            pytest.fail("the voter never waited for the board lock")
        election_close(election=election.election, acting_user=None)
    thread.join(timeout=60)
    response = answer[0]
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "election_not_open"
    assert not Ballot.objects.filter(election=election.election).exists()
