"""The key ceremony through the API (offline trustees played with the trustee-side code): every
message authenticated, checked and published; a cheating dealer disqualified; officials' ways
out of a stuck phase; every board passes pnyx-verify."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation

from board.models import BoardEntry
from crypto.group import Scalar
from crypto.hashing import parse_json
from crypto.threshold import (
    DkgDeal,
    Polynomial,
    dkg_deal,
    trustee_check_signature,
    trustee_sign,
)
from tally.models import CeremonyMessage, CeremonyPhase, Trustee, TrusteeState
from tally.services.ceremony import (
    ceremony_close_checks,
    ceremony_close_deals,
    ceremony_configure,
    ceremony_finish,
    ceremony_invite,
)
from tally.trustee_steps import TrusteeError, _secret, envelope, keygen
from tests.tally.helpers import (
    PASSPHRASE,
    ceremony_of,
    messages_url,
    pnyx_verify,
    run_offline_ceremony,
    setup_ceremony,
)
from tests.voting.factories import SINGLE5, make_election, post_json
from voting.services.elections import election_start_ceremony

pytestmark = pytest.mark.django_db


def kinds(election) -> list[str]:
    return list(
        BoardEntry.objects.filter(election=election).order_by("seq").values_list("kind", flat=True)
    )


def payloads(election, kind: str) -> list[dict]:
    return [
        parse_json(line)["payload"]
        for line in BoardEntry.objects.filter(election=election, kind=kind)
        .order_by("seq")
        .values_list("line", flat=True)
    ]


def test_ceremony_with_offline_trustees(tmp_path) -> None:
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5)
    election = ce.election
    assert kinds(election) == ["election", "trustee", "trustee", "trustee"]
    status = client.get(f"/api/elections/{election.pk}/ceremony/").json()
    assert status["phase"] == "registration" and status["awaiting"] == []
    assert "example.org" not in json.dumps(status)  # no e-mail address is public

    run_offline_ceremony(ce, tmp_path, client)
    election.refresh_from_db()
    assert election.state == "ready"
    assert kinds(election) == [
        "election",
        *["trustee"] * 3,
        "state",
        "ceremony",
        *["dkg-commitment"] * 3,
        *["dkg-deal"] * 3,
        *["dkg-confirmation"] * 3,
        "ceremony-result",
        "state",
    ]
    result = payloads(election, "ceremony-result")[0]
    assert result["qualified"] == [1, 2, 3] and result["disqualified"] == []
    assert election.public_key == result["public_key"]
    assert election.verification_keys == result["verification_keys"]
    assert [t["name"] for t in election.trustees] == ["Trustee 1", "Trustee 2", "Trustee 3"]
    assert set(Trustee.objects.values_list("state", flat=True)) == {TrusteeState.CONFIRMED}
    status = client.get(f"/api/elections/{election.pk}/ceremony/").json()
    assert status["phase"] == "done" and all(t["confirmed"] for t in status["trustees"])
    # the polynomial is gone from the key stores once confirmed; the secret stays
    store = ce.trustees[0].store()
    assert store.secrets["ceremony"]["polynomial"] is None and store.secrets["y"]
    assert pnyx_verify(election, tmp_path) == 0


def test_a_dealer_with_a_bad_share_is_disqualified(tmp_path) -> None:
    """Trustee 2 deals trustee 1 a share that does not match its commitments: trustee 1's check
    complains, anyone can judge the complaint, trustee 2 is out of QUAL, the ceremony ends with
    dealers 1 and 3, and trustee 2 still holds a share of the resulting key."""
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5)
    election = ce.election
    election_start_ceremony(election=election, acting_user=None)
    for trustee in ce.trustees:
        assert trustee.send(client, "commit", tmp_path).status_code == 202
    cheat = ce.trustees[1]
    store = cheat.store()
    params = cheat.view(tmp_path).params()
    deal = DkgDeal.from_json(store.secrets["ceremony"]["deal"])
    _, wrong = dkg_deal(Polynomial([Scalar.random(), Scalar.random()]), 2, params.ceremony())
    bad = DkgDeal(deal.dealer, deal.coefficients, deal.proofs, (wrong.shares[0], *deal.shares[1:]))
    signed = trustee_sign(_secret(store), bad.to_json(), params.ceremony())
    response = post_json(client, messages_url(election, 2), envelope(store, params, "deal", signed))
    assert response.status_code == 202  # it passes the public checks: only trustee 1 can tell
    for trustee in (ce.trustees[0], ce.trustees[2]):
        assert trustee.send(client, "deal", tmp_path).status_code == 202
    for trustee in ce.trustees:
        response = trustee.send(client, "check", tmp_path)
        assert response.status_code == 202, response.content
    complaints = payloads(election, "dkg-complaint")
    assert [(c["complainer"], c["dealer"]) for c in complaints] == [(1, 2)]
    assert Trustee.objects.get(index=2).disqualified == "justified complaint by trustee 1"
    assert ceremony_of(election).phase == CeremonyPhase.CONFIRM
    for trustee in ce.trustees:  # the disqualified dealer still confirms its share
        assert trustee.send(client, "confirm", tmp_path).status_code == 202
    election.refresh_from_db()
    assert election.state == "ready"
    result = payloads(election, "ceremony-result")[0]
    assert result["qualified"] == [1, 3]
    assert result["disqualified"] == [{"dealer": 2, "reason": "justified complaint by trustee 1"}]
    assert pnyx_verify(election, tmp_path) == 0


def test_enrolment_tokens_never_read_as_an_option() -> None:
    """A token is passed as ``pnyx-trustee keygen --token TOKEN``: one starting with "-" would be
    taken for an option (with URL-safe base64, one token in 64; 600 tokens here)."""
    import re

    from tally.services.ceremony import trustee_enrolment_issue

    ceremony = ceremony_configure(
        election=make_election(questions=SINGLE5),
        threshold=1,
        trustees=[{"name": "A", "email": "a@example.org", "mode": "offline"}],
        acting_user=None,
    )
    trustee = ceremony.trustees.get(index=1)
    for _ in range(600):
        token = trustee_enrolment_issue(trustee=trustee, acting_user=None)
        assert re.fullmatch(r"[0-9a-f]{48}", token), token


def test_registration_is_authenticated_by_the_enrolment_token(tmp_path) -> None:
    from tally.services.ceremony import trustee_enrolment_issue

    client = Client()
    election = make_election(questions=SINGLE5)
    ceremony = ceremony_configure(
        election=election,
        threshold=1,
        trustees=[
            {"name": "A", "email": "a@example.org", "mode": "offline"},
            {"name": "B", "email": "b@example.org", "mode": "offline"},
        ],
        acting_user=None,
    )
    trustee = ceremony.trustees.get(index=1)
    token = trustee_enrolment_issue(trustee=trustee, acting_user=None)
    assert token not in json.dumps(list(Trustee.objects.values()), default=str)
    _, registration = keygen(
        tmp_path / "a.json", election=str(election.pk), index=1, passphrase=PASSPHRASE
    )
    url = messages_url(election, 1)
    for wrong in (None, "", token + "x", token.upper()):
        response = post_json(client, url, {**registration, "token": wrong})
        assert response.status_code == 403, wrong
        assert response.json()["error"]["code"] == "enrolment_refused"
    # trustee 2's token does not register trustee 1, and a key made for index 2 is refused at 1
    other = trustee_enrolment_issue(trustee=ceremony.trustees.get(index=2), acting_user=None)
    assert post_json(client, url, {**registration, "token": other}).status_code == 403
    _, for_two = keygen(
        tmp_path / "b.json", election=str(election.pk), index=2, passphrase=PASSPHRASE
    )
    response = post_json(client, url, {**for_two, "trustee": 1, "token": token})
    assert response.status_code == 400
    # a broken proof of knowledge
    broken = json.loads(json.dumps(registration))
    broken["message"]["proof"]["response"] = Scalar.random().to_hex()
    response = post_json(client, url, {**broken, "token": token})
    assert response.status_code == 400 and "proof" in response.json()["error"]["message"]
    # the right one registers, once; the token is then void
    response = post_json(client, url, {**registration, "token": token})
    assert response.status_code == 202 and response.json()["kind"] == "registration"
    assert post_json(client, url, {**registration, "token": token}).json()["status"] == "duplicate"
    _, another = keygen(
        tmp_path / "c.json", election=str(election.pk), index=1, passphrase=PASSPHRASE
    )
    response = post_json(client, url, {**another, "token": token})
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_registered"
    unknown = {**registration, "trustee": 9, "token": token}
    assert post_json(client, messages_url(election, 9), unknown).status_code == 404
    assert client.post(url, "not json", content_type="application/json").status_code == 400
    assert kinds(election) == ["election", "trustee"]


def test_messages_are_authenticated_by_the_trustees_signature(tmp_path) -> None:
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5)
    election = ce.election
    election_start_ceremony(election=election, acting_user=None)
    one, two, three = ce.trustees
    commitment = one.message("commit", tmp_path)
    # trustee 1's message posted as trustee 2's, or altered: refused, nothing published
    as_two = {**commitment, "trustee": 2}
    assert post_json(client, messages_url(election, 2), as_two).status_code == 403
    forged = json.loads(json.dumps(commitment))
    forged["message"]["digest"] = "0" * 64
    response = post_json(client, messages_url(election, 1), forged)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_trustee_signature"
    unsigned = {k: v for k, v in commitment.items() if k != "signature"}
    assert post_json(client, messages_url(election, 1), unsigned).status_code == 400
    # the real one, twice: accepted, then a duplicate
    assert post_json(client, messages_url(election, 1), commitment).status_code == 202
    response = post_json(client, messages_url(election, 1), commitment)
    assert response.status_code == 200 and response.json()["status"] == "duplicate"
    # no deal before every trustee committed (the trustee's own code refuses too)
    store = one.store()
    params = one.view(tmp_path).params()
    state = store.secrets["ceremony"]
    signed = trustee_sign(_secret(store), state["deal"], params.ceremony())
    early = envelope(store, params, "deal", signed)
    response = post_json(client, messages_url(election, 1), early)
    assert response.status_code == 409 and response.json()["error"]["code"] == "wrong_phase"
    with pytest.raises(TrusteeError, match="not every trustee has committed"):
        one.message("deal", tmp_path)
    for trustee in (two, three):
        assert trustee.send(client, "commit", tmp_path).status_code == 202
    assert post_json(client, messages_url(election, 1), early).status_code == 202
    assert kinds(election).count("dkg-deal") == 1
    assert CeremonyMessage.objects.filter(kind="commitment").count() == 3


def test_confirmations_are_signed_by_their_trustee(tmp_path) -> None:
    """A confirmation's proof shows knowledge of xⱼ, which t trustees together could compute: it
    is accepted only signed by trustee j's registered key (§8.9), and so it stands on the board."""
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5)
    election = ce.election
    election_start_ceremony(election=election, acting_user=None)
    for step in ("commit", "deal", "check"):
        for trustee in ce.trustees:
            assert trustee.send(client, step, tmp_path).status_code == 202
    one, two = ce.trustees[:2]
    params = one.view(tmp_path).params()
    real = one.message("confirm", tmp_path)
    inner = {k: v for k, v in real["message"].items() if k != "signature"}
    for message in (inner, trustee_sign(_secret(two.store()), inner, params.ceremony())):
        body = envelope(one.store(), params, "confirmation", message)
        response = post_json(client, messages_url(election, 1), body)
        assert response.status_code == 400, response.content
        assert "signature (§8.9) fails" in response.json()["error"]["message"]
    assert "dkg-confirmation" not in kinds(election)
    for trustee in ce.trustees:
        assert trustee.send(client, "confirm", tmp_path).status_code == 202
    confirmations = payloads(election, "dkg-confirmation")
    assert [c["trustee"] for c in confirmations] == [1, 2, 3]
    for confirmation in confirmations:
        trustee_check_signature(confirmation, confirmation["trustee"], params.ceremony())
    assert election.__class__.objects.get(pk=election.pk).state == "ready"
    assert pnyx_verify(election, tmp_path) == 0


def test_officials_close_the_deal_and_check_phases(tmp_path) -> None:
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5)
    election = ce.election
    election_start_ceremony(election=election, acting_user=None)
    for trustee in ce.trustees:
        trustee.send(client, "commit", tmp_path)
    for trustee in ce.trustees[:2]:  # trustee 3 never deals
        trustee.send(client, "deal", tmp_path)
    assert ceremony_of(election).phase == CeremonyPhase.DEAL
    ceremony_close_deals(election=election, acting_user=None)
    assert Trustee.objects.get(index=3).disqualified.startswith("no deal")
    ce.trustees[0].send(client, "check", tmp_path)  # trustee 2 and 3 never check
    ceremony_close_checks(election=election, acting_user=None)
    assert ceremony_of(election).phase == CeremonyPhase.CONFIRM
    ce.trustees[0].send(client, "confirm", tmp_path)
    with pytest.raises(Exception, match="at least the threshold"):
        ceremony_finish(election=election, acting_user=None)
    # trustee 3's own software does not confirm a key its deal is missing from (§8.4, §8.8):
    # for all it knows, its deal was withheld and the dealers of QUAL know the key
    from tally.trustee_board import StepRefused, act, board_from
    from tests.tally.helpers import export_board

    with board_from(str(export_board(election, tmp_path / "board.jsonl"))) as board:
        with pytest.raises(StepRefused, match="own deal is not on the board"):
            act(ce.trustees[2].store(), board, "confirm")
    ce.trustees[1].send(client, "confirm", tmp_path)  # trustee 2 dealt: it confirms
    ceremony_finish(election=election, acting_user=None)
    election.refresh_from_db()
    assert election.state == "ready"
    result = payloads(election, "ceremony-result")[0]
    assert result["qualified"] == [1, 2]
    assert result["disqualified"] == [
        {"dealer": 3, "reason": "no deal before the deal phase was closed"}
    ]
    assert pnyx_verify(election, tmp_path) == 0


def test_an_invalid_deal_is_published_and_disqualifies_its_dealer(tmp_path) -> None:
    client = Client()
    ce = setup_ceremony(tmp_path, questions=SINGLE5)
    election = ce.election
    election_start_ceremony(election=election, acting_user=None)
    for trustee in ce.trustees:
        trustee.send(client, "commit", tmp_path)
    three = ce.trustees[2]
    store = three.store()
    params = three.view(tmp_path).params()
    # a deal from another polynomial than the committed one, properly signed
    _, other = dkg_deal(Polynomial([Scalar.random(), Scalar.random()]), 3, params.ceremony())
    signed = trustee_sign(_secret(store), other.to_json(), params.ceremony())
    response = post_json(client, messages_url(election, 3), envelope(store, params, "deal", signed))
    assert response.status_code == 202
    assert "do not match the committed hash" in Trustee.objects.get(index=3).disqualified
    for step in ("deal", "check", "confirm"):
        for trustee in ce.trustees:
            if step == "deal" and trustee.index == 3:
                continue
            response = trustee.send(client, step, tmp_path)
            assert response.status_code == 202, (step, response.content)
    election.refresh_from_db()
    assert election.state == "ready"
    assert payloads(election, "ceremony-result")[0]["qualified"] == [1, 2]
    assert pnyx_verify(election, tmp_path) == 0


def test_setup_rules_and_invitations(tmp_path) -> None:
    election = make_election(questions=SINGLE5)
    bad = [
        (0, [{"name": "A", "email": "a@example.org"}]),
        (3, [{"name": "A", "email": "a@example.org"}, {"name": "B", "email": "b@example.org"}]),
        (1, [{"name": "", "email": "a@example.org"}]),
        (1, [{"name": "A", "email": "nope"}]),
        (1, [{"name": "A", "email": "a@example.org"}, {"name": "B", "email": "A@example.org"}]),
        (1, [{"name": "A", "email": "a@example.org", "mode": "telepathy"}]),
    ]
    for threshold, trustees in bad:
        with pytest.raises(Exception, match="not valid|threshold|name|e-mail|mode"):
            ceremony_configure(
                election=election, threshold=threshold, trustees=trustees, acting_user=None
            )
    ceremony = ceremony_configure(
        election=election,
        threshold=2,
        trustees=[
            {"name": "Ada", "email": "ada@example.org", "mode": "worker"},
            {"name": "Bob", "email": "bob@example.org", "mode": "offline"},
        ],
        acting_user=None,
    )
    assert ceremony_invite(election=election, acting_user=None) == 2
    assert [m.to for m in mail.outbox] == [["ada@example.org"], ["bob@example.org"]]
    worker_mail, offline_mail = (m.body for m in mail.outbox)
    ada = ceremony.trustees.get(index=1)
    assert f"-Q {ada.queue}" in worker_mail and "PNYX_TRUSTEE_KEYSTORE" in worker_mail
    assert "pnyx-trustee commit" in offline_mail and "celery" not in offline_mail
    assert len(worker_mail.split("Enrolment token:")[1].split()[0]) >= 32
    # invited again from a page in Spanish: new tokens (the first ones stop working), in Spanish
    with translation.override("es"):
        assert ceremony_invite(election=election, acting_user=None) == 2
    spanish = mail.outbox[2]
    assert spanish.subject == f"Usted es el custodio 1 de «{election.title}»"
    assert "Código de inscripción:" in spanish.body and "Enrolment" not in spanish.body
    assert f"-Q {ada.queue}" in spanish.body
    token = spanish.body.split("Código de inscripción:")[1].split()[0]
    assert len(token) >= 32
    assert token not in json.dumps(list(Trustee.objects.values()), default=str)
    # registering makes the set-up final
    _, registration = keygen(
        tmp_path / "ada.json", election=str(election.pk), index=1, passphrase=PASSPHRASE
    )
    response = post_json(Client(), messages_url(election, 1), {**registration, "token": token})
    assert response.status_code == 202
    with pytest.raises(Exception, match="registered"):
        ceremony_configure(
            election=election,
            threshold=1,
            trustees=[{"name": "Zed", "email": "z@example.org"}],
            acting_user=None,
        )
