"""The mixnet run by the trustees (protocol §15.10–§15.11), services called in process: three
offline trustees, one of them skipped after the timeout; the board verifies; tampering is caught."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client

from crypto.hashing import parse_json
from crypto.threshold import decryption_sign, trustee_sign
from tally import trustee_mix
from tally.models import MixRun, MixStatus
from tally.selectors import tally_status
from tally.services.heal import tally_sweep
from tally.services.mix import mix_ask, mix_publish, mix_start, mix_timeout
from tally.services.tally import tally_aggregate_chunk, tally_combine, tally_plan, tally_publish
from tally.trustee_board import BoardRefused, NothingToDo, StepRefused, verify_file
from tally.trustee_steps import _secret
from tests.tally.boards import entries_of, rechain
from tests.tally.helpers import (
    add_voters_and_open,
    export_board,
    messages_url,
    pnyx_verify,
    post_json,
    run_offline_ceremony,
    setup_ceremony,
)
from verifier.api import BoardSource, verify_board
from voting.services.elections import election_close

pytestmark = pytest.mark.django_db

OPTIONS = [f"P{i}" for i in range(18)]  # two packed components: 16 + 2 options
MIXED = [
    {"kind": "referendum", "title": "Yes or no?", "options": ["Yes", "No"], "blank_allowed": True},
    {
        "kind": "approval",
        "title": "Projects",
        "options": OPTIONS,
        "min": 0,
        "max": 18,
        "mixed": True,
    },
]


def _choices(selected):
    return [1 if i in selected else 0 for i in range(len(OPTIONS))]


def _closed_election(tmp_path, client, ballots, weights):
    ce = setup_ceremony(tmp_path, questions=MIXED)
    run_offline_ceremony(ce, tmp_path, client)
    add_voters_and_open(ce, weights)
    for voter, (yes, selected) in enumerate(ballots):
        ce.cast(Client(), voter, [[1, 0] if yes else [0, 1], _choices(selected)])
    election_close(election=ce.election, acting_user=None)
    run = ce.election.tally_run
    for chunk_id in tally_plan(run_id=run.pk):
        tally_aggregate_chunk(chunk_id=chunk_id)
    tally_publish(run_id=run.pk)
    # (started already when the publication's commit callbacks ran, outside a test transaction)
    mix = mix_start(election_id=ce.election.pk) or MixRun.objects.get(election=ce.election)
    assert mix.width == 3
    return ce, mix


def _sent(response):
    assert response.status_code == 202, response.content
    return response.json()


def test_three_trustees_one_skipped_mix_and_the_board_verifies(tmp_path) -> None:
    client = Client()
    ballots = [(True, {0, 17}), (False, {3}), (True, set())]
    ce, mix = _closed_election(tmp_path, client, ballots, [1, 2, 5])
    t1, t2, t3 = ce.trustees
    # trustee 2 may not shuffle before trustee 1 (the verified board says whose turn it is)
    with pytest.raises(StepRefused):
        t2.message("mix", tmp_path)
    assert _sent(t1.send(client, "mix", tmp_path))["status"] == "accepted"
    assert mix_timeout(mix_id=mix.pk, mixer=1) is False  # it did shuffle: no skip
    assert mix_timeout(mix_id=mix.pk, mixer=2) is True  # offline trustee 2 never answered
    assert _sent(t3.send(client, "mix", tmp_path))["status"] == "accepted"
    mix.refresh_from_db()
    assert (mix.status, mix.shuffled, mix.skipped) == (MixStatus.DECRYPTING, [1, 3], [2])
    status = tally_status(election=ce.election)["mix"]
    assert (status["status"], status["shuffled"], status["skipped"]) == ("decrypting", [1, 3], [2])
    for t in (t1, t3):
        assert _sent(t.send(client, "mix-decrypt", tmp_path))["status"] == "accepted"
    assert mix_publish(mix_id=mix.pk)
    for t in (t1, t2):
        _sent(t.send(client, "decrypt", tmp_path))
    tally_combine(run_id=ce.election.tally_run.pk)
    ce.refresh()
    assert ce.election.state == "tallied"
    rows = []
    for entry in ce.election.board_entries.filter(kind="mix-result").order_by("seq"):
        rows.extend(parse_json(entry.line)["payload"]["rows"])
    got = sorted((r["weight"], r["choices"][0]) for r in rows)
    assert got == [(1, [0, 17]), (2, [3]), (5, [])]
    assert pnyx_verify(ce.election, tmp_path) == 0
    source = BoardSource(str(export_board(ce.election, tmp_path / "final.jsonl")))
    report, _ = verify_board(source, jobs=1)
    assert report.failure is None
    assert [s.get("mixer") for s in report.mix["shuffles"]] == [1, 2, 3]
    assert report.mix["published"] == 3


def _tamper(path, kind, mutate, nth=0):
    """Rewrite the ``nth`` entry of ``kind`` with ``mutate`` and rechain the board (the chain
    stays consistent: only the mix checks can tell)."""
    entries = entries_of(path.read_bytes().splitlines())
    mutate(next(e for e in entries if e["kind"] == kind and (nth := nth - 1) < 0)["payload"])
    path.write_bytes(b"".join(rechain(entries)))


def test_a_mixer_handed_a_tampered_shuffle_refuses_and_the_verifier_names_it(tmp_path) -> None:
    client = Client()
    ce, mix = _closed_election(
        tmp_path, client, [(True, {1}), (False, {2, 5}), (True, {16})], [1, 1, 1]
    )
    t1, t2, _ = ce.trustees
    _sent(t1.send(client, "mix", tmp_path))
    board = export_board(ce.election, tmp_path / "board.jsonl")

    def swap(payload):  # replace output row 0 by row 1: a duplicated ballot
        payload["ciphertexts"][0] = payload["ciphertexts"][1]

    _tamper(board, "mix-shuffle", swap)
    with pytest.raises(BoardRefused, match="shuffle"):
        verify_file(board)
    source = BoardSource(str(board))
    report, _ = verify_board(source, jobs=1)
    assert report.failure.check == "shuffle" and report.failure.kind == "mix-shuffle"
    assert "mixer 1" in report.failure.reason


def _drop_row(p):  # a mixer drops a row: fewer rows than the list
    p["ciphertexts"].pop()


def _replace_row(p):  # another valid ciphertext (the row re-used with α, β swapped roles)
    row = p["ciphertexts"][0][0]
    p["ciphertexts"][0][0] = {"alpha": row["beta"], "beta": row["alpha"]}


def _bad_response(p):
    p["proof"]["responses"][0] = "0" * 63 + "1"


def _skip_reason(p):
    p["reason"] = ""


def _result_row(p):
    p["rows"][0]["weight"] += 1


def _decryption_share(p):
    row = p["decryption"]["shares"][0]
    row[0], row[1] = row[1], row[0]


@pytest.fixture(scope="module")
def mixed_board(django_db_setup, django_db_blocker, tmp_path_factory):
    """One complete mixed election's board (3 trustees, trustee 2 skipped), exported once."""
    tmp = tmp_path_factory.mktemp("mixed")
    # one row per part: every list is cut into several board entries (part boundaries tested)
    saved, trustee_mix.MIX_PART_CIPHERTEXTS = trustee_mix.MIX_PART_CIPHERTEXTS, 1
    # In one transaction rolled back at the end, as a test's own data is: nothing it writes
    # outlives the module (the board's rows cannot be deleted, and later tests count elections).
    with django_db_blocker.unblock(), transaction.atomic():
        try:
            client = Client()
            ce, mix = _closed_election(
                tmp, client, [(True, {0}), (False, {4, 9}), (True, {17})], [1, 3, 2]
            )
            t1, t2, t3 = ce.trustees
            _sent(t1.send(client, "mix", tmp))
            mix_timeout(mix_id=mix.pk, mixer=2)
            _sent(t3.send(client, "mix", tmp))
            for t in (t1, t3):
                _sent(t.send(client, "mix-decrypt", tmp))
            mix_publish(mix_id=mix.pk)
            return export_board(ce.election, tmp / "board.jsonl").read_bytes()
        finally:
            trustee_mix.MIX_PART_CIPHERTEXTS = saved
            transaction.set_rollback(True)


@pytest.mark.parametrize(
    ("kind", "nth", "mutate", "check", "words"),
    [
        ("mix-shuffle", 2, _drop_row, "shuffle", "at least 1"),
        ("mix-shuffle", 1, _replace_row, "shuffle", "mixer 1"),
        ("mix-shuffle", 4, _bad_response, "shuffle", "mixer 3"),
        ("mix-shuffle", 5, _drop_row, "shuffle", "at least 1"),
        ("mix-skip", 0, _skip_reason, "mix", "why"),
        ("mix-decryption", 0, _decryption_share, "signature", "trustee 1"),
        ("mix-result", 0, _result_row, "mix-result", "row 0"),
        ("mix-skip", 0, lambda p: p.update(mixer=True), "mix", "integer"),
        ("mix-shuffle", 0, lambda p: p.update(part="0"), "mix", "integer"),
        ("mix-result", 0, lambda p: p.update(trustees=[True, 3]), "mix-result", "ascending"),
    ],
)
def test_a_tampered_mix_entry_is_rejected_with_a_named_reason(
    mixed_board, tmp_path, kind, nth, mutate, check, words
) -> None:
    path = tmp_path / "board.jsonl"
    path.write_bytes(mixed_board)
    _tamper(path, kind, mutate, nth)
    report, _ = verify_board(BoardSource(str(path)), jobs=1)
    failure = report.failure
    assert failure is not None and failure.kind == kind and failure.check == check, failure
    assert words in failure.reason, failure


def test_the_sweeper_skips_a_mixer_silent_past_the_timeout(tmp_path, settings) -> None:
    """The timeout task may be lost with the broker: the sweeper skips the silent mixer too, and
    only once its time is up; asking again does not restart its clock."""
    settings.PNYX_MIX_TIMEOUT_SECONDS = 600
    client = Client()
    ce, mix = _closed_election(tmp_path, client, [(True, {2})], [4])
    _sent(ce.trustees[0].send(client, "mix", tmp_path))
    mix_ask(mix_id=mix.pk)  # trustee 2 (offline) asked now
    mix.refresh_from_db()
    asked = mix.asked_at
    assert mix.next_mixer == 2 and asked is not None
    assert tally_sweep(now=asked + timedelta(seconds=599))["mixes"] == {mix.pk: "asked again"}
    mix.refresh_from_db()
    assert mix.asked_at == asked and mix.next_mixer == 2
    report = tally_sweep(now=asked + timedelta(seconds=601))
    assert report["mixes"] == {mix.pk: "skipped trustee 2"}
    mix.refresh_from_db()
    assert mix.skipped == [2] and mix.next_mixer == 3
    skip = ce.election.board_entries.get(kind="mix-skip")
    assert parse_json(skip.line)["payload"] == {"mixer": 2, "reason": "no shuffle within 600 s"}


def _resigned(trustee, tmp_path, body: dict) -> dict:
    """``body`` (an envelope whose message was altered) signed again by the trustee's own key:
    a trustee cheating, not a carrier."""
    store = trustee.store()
    params = trustee.view(tmp_path).params()
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    return trustee_sign(_secret(store), unsigned, params.ceremony())


def test_the_server_refuses_a_bad_shuffle_or_decryption_and_publishes_nothing(tmp_path) -> None:
    client = Client()
    ce, mix = _closed_election(tmp_path, client, [(True, {1}), (False, {2})], [1, 2])
    t1, t2, t3 = ce.trustees
    url = messages_url(ce.election, 1)
    honest = t1.message("mix", tmp_path)
    # trustee 1's envelope carried to trustee 2's address: refused (another trustee's message)
    assert post_json(client, messages_url(ce.election, 2), honest).status_code in (400, 403, 422)
    cheat = json.loads(json.dumps(honest))
    rows = cheat["message"]["parts"][0]["ciphertexts"]
    rows[0] = rows[1]  # a duplicated ballot, signed by the cheating mixer itself
    response = post_json(client, url, _resigned(t1, tmp_path, cheat))
    assert response.status_code == 400, response.content
    assert "shuffle does not check" in response.json()["error"]["message"]
    assert not ce.election.board_entries.filter(kind="mix-shuffle").exists()
    assert _sent(post_json(client, url, honest))["status"] == "accepted"
    again = post_json(client, url, honest)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    mix_timeout(mix_id=mix.pk, mixer=2)
    _sent(t3.send(client, "mix", tmp_path))
    honest = t1.message("mix-decrypt", tmp_path)
    cheat = json.loads(json.dumps(honest))
    part = cheat["message"]["parts"][0]
    shares = part["decryption"]["shares"]
    shares[0], shares[1] = shares[1], shares[0]
    store = t1.store()
    fingerprint = ce.manifest.fingerprint
    part.update(decryption_sign(_secret(store), part["decryption"], fingerprint=fingerprint))
    response = post_json(client, url, _resigned(t1, tmp_path, cheat))
    assert response.status_code == 400, response.content
    assert "decryption does not check" in response.json()["error"]["message"]
    assert not ce.election.board_entries.filter(kind="mix-decryption").exists()
    assert _sent(post_json(client, url, honest))["status"] == "accepted"


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_mix_in_many_parts_verifies_with_any_number_of_jobs(mixed_board, tmp_path, jobs) -> None:
    path = tmp_path / "board.jsonl"
    path.write_bytes(mixed_board)
    entries = entries_of(mixed_board.splitlines())
    assert sum(e["kind"] == "mix-shuffle" for e in entries) == 6  # 2 mixers × 3 one-row parts
    assert sum(e["kind"] == "mix-decryption" for e in entries) == 6
    report, _ = verify_board(BoardSource(str(path)), jobs=jobs)
    assert report.failure is None, report.failure
    assert report.mix["published"] == 3
    assert (
        "Mixnet: 3 rows of width 3; trustee 1 shuffled (entry " in report.human()
        and "trustee 2 skipped, trustee 3 shuffled" in report.human()
        and "3 rows decrypted and published" in report.human()
    )


def test_a_mixer_that_duplicates_a_row_is_caught_with_any_number_of_jobs(
    mixed_board, tmp_path
) -> None:
    """Row 0 of mixer 3's output replaced by its row 1 (both valid ciphertexts, the proof as
    published): the chunk equations fail, in a worker process too, naming mixer 3."""
    path = tmp_path / "board.jsonl"
    path.write_bytes(mixed_board)
    entries = entries_of(mixed_board.splitlines())
    parts = [e for e in entries if e["kind"] == "mix-shuffle" and e["payload"]["mixer"] == 3]
    parts[0]["payload"]["ciphertexts"][0] = parts[1]["payload"]["ciphertexts"][0]
    path.write_bytes(b"".join(rechain(entries)))
    for jobs in (1, 2):
        failure = verify_board(BoardSource(str(path)), jobs=jobs)[0].failure
        assert (failure.kind, failure.check) == ("mix-shuffle", "shuffle"), failure
        assert "mixer 3" in failure.reason


def test_one_voter_mixes_alone_and_no_voter_means_no_mix(tmp_path) -> None:
    client = Client()
    ce, mix = _closed_election(tmp_path, client, [(False, set(range(18)))], [1_000_000])
    assert mix.rows == 1
    _sent(ce.trustees[0].send(client, "mix", tmp_path))
    mix.refresh_from_db()
    assert mix.next_mixer == 2
    # trustee 3 is not next: trustee 2's turn is not over (its timeout has not come)
    with pytest.raises(StepRefused, match="trustee 2 mixes next"):
        ce.trustees[2].message("mix", tmp_path)
    mix_timeout(mix_id=mix.pk, mixer=2)
    t1, _, t3 = ce.trustees
    _sent(t3.send(client, "mix", tmp_path))
    for t in (t1, t3):
        _sent(t.send(client, "mix-decrypt", tmp_path))
        _sent(t.send(client, "decrypt", tmp_path))
    tally_combine(run_id=ce.election.tally_run.pk)
    ce.refresh()
    assert ce.election.state == "tallying"  # the result waits for the mix's rows
    mix_publish(mix_id=mix.pk)
    tally_combine(run_id=ce.election.tally_run.pk)
    ce.refresh()
    assert ce.election.state == "tallied"
    (entry,) = ce.election.board_entries.filter(kind="mix-result")
    rows = parse_json(entry.line)["payload"]["rows"]
    assert rows == [{"choices": [list(range(18))], "weight": 1_000_000}]
    assert pnyx_verify(ce.election, tmp_path) == 0

    # no ballot: no mix at all, the result follows the decryptions
    empty = setup_ceremony(tmp_path / "empty", questions=MIXED)
    run_offline_ceremony(empty, tmp_path, client)
    add_voters_and_open(empty, [1])
    election_close(election=empty.election, acting_user=None)
    run = empty.election.tally_run
    assert tally_plan(run_id=run.pk) == []
    tally_publish(run_id=run.pk)
    assert mix_start(election_id=empty.election.pk) is None
    for t in empty.trustees[:2]:
        _sent(t.send(client, "decrypt", tmp_path))
    with pytest.raises(NothingToDo, match="no mix"):
        empty.trustees[0].message("mix", tmp_path)
    tally_combine(run_id=run.pk)
    empty.refresh()
    assert empty.election.state == "tallied"
    assert not empty.election.board_entries.filter(kind__startswith="mix").exists()
    assert pnyx_verify(empty.election, tmp_path) == 0


@pytest.mark.parametrize(
    "spoil",
    [
        lambda m: m.update(parts=[1]),
        lambda m: m.update(parts=[]),
        lambda m: m.update(extra=1),
        lambda m: m["parts"][0].update(ciphertexts=5),
        lambda m: m["parts"][0].update(ciphertexts=[[{"alpha": "04zz", "beta": "00"}]] * 3),
        lambda m: m["parts"][0].update(proof="x"),
        lambda m: m["parts"][0].update(head={}),
        lambda m: m["parts"][0].update(head=None),
        lambda m: m["parts"][0].update(offset=1),
        lambda m: m["parts"][0].update(mixer=True),
        lambda m: m["parts"][0].update(signature={"commitment": "00", "response": "00"}),
        lambda m: m["parts"][0].pop("width"),
    ],
)
def test_hostile_shuffles_are_refused_with_a_4xx(tmp_path, spoil) -> None:
    client = Client()
    ce, _ = _closed_election(tmp_path, client, [(True, {1}), (False, {2}), (True, {3})], [1, 1, 1])
    t1 = ce.trustees[0]
    body = t1.message("mix", tmp_path)
    spoil(body["message"])
    response = post_json(client, messages_url(ce.election, 1), _resigned(t1, tmp_path, body))
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"]
    assert not ce.election.board_entries.filter(kind="mix-shuffle").exists()
