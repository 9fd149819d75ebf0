"""What a trustee does at each step of the key ceremony and the tally, from public inputs and its
own key store. Framework-free (crypto/ and the stdlib): the trustee's Celery worker
(tally.tasks, ``trustee.*`` tasks) and the offline CLI (tally.trustee_cli, ``pnyx-trustee``)
both call these functions, and neither needs Django or a database.

Every step returns an **envelope**, the public message the server receives::

    {"version": 1, "election": E, "trustee": j, "kind": K, "message": {...},
     "signature": <trustee-signature by Yⱼ, context C, on digest(envelope without signature)>}

``kind`` is ``commitment``, ``deal``, ``check``, ``confirmation`` or ``decryption``; ``message``
is the board payload of docs/protocol.md §12 (commitments, deals and confirmations carry their
own signature as well, §8.9; a decryption is ``{"decryption": <§9.1>, "signature": …}``, signed
with the tag ``decryption-signature`` and the manifest fingerprint, §12.4), or for ``check``
``{"version": 1, "complaints": [<§8.6 complaint>…]}`` (possibly empty: "I checked my shares").
The envelope's signature lets the server attribute a message to the trustee that sent it,
whoever carried it (broker or upload API); the inner signatures make the published entries — an
invalid partial decryption in particular — attributable to it too, on the board itself.
Registration (before the ceremony context exists) is a ``registration`` envelope without
signature; the enrolment token authenticates it.

Every input of a step comes from the board (:class:`BoardView`, :func:`step_from_board`), which the
trustee verified first with the standalone verifier (tally/trustee_board.py): never from the
server's request.

Nothing here returns, logs or raises anything that contains a secret.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crypto.board import BoardEntry, InvalidChain
from crypto.elgamal import Ciphertext
from crypto.encoding import PROTOCOL_VERSION
from crypto.errors import CryptoError, InvalidShare
from crypto.group import Point, Scalar, base_mul
from crypto.hashing import digest_json
from crypto.threshold import (
    Ceremony,
    DkgCommitment,
    DkgComplaint,
    DkgDeal,
    TrusteePublicKey,
    TrusteeSecret,
    decryption_sign,
    dkg_check_deal,
    dkg_combine_shares,
    dkg_complain,
    dkg_confirm,
    dkg_deal,
    dkg_judge_complaint,
    dkg_new_polynomial,
    dkg_open_share,
    partial_decrypt,
    trustee_check_signature,
    trustee_keygen,
    trustee_sign,
)
from tally import keystore
from tally.keystore import KeyStore

ENVELOPE_KINDS = (
    "registration",
    "commitment",
    "deal",
    "check",
    "confirmation",
    "decryption",
    "shuffle",
    "mix-decryption",
)


class TrusteeError(Exception):
    """A step cannot be carried out (wrong key store, missing board entries…). No secrets inside."""


class DecryptionRefused(TrusteeError):
    """This key store already decrypted another tally of the election: it decrypts only once."""


# --- The ceremony's public parameters ----------------------------------------------------------


@dataclass(frozen=True)
class CeremonyParams:
    """The ``ceremony`` board entry (docs/protocol.md §12.1) with the election it belongs to."""

    election: str
    threshold: int
    trustees: tuple[tuple[int, str, str], ...]  #: (index, name, public key hex), 1..n in order
    context: str

    @property
    def n(self) -> int:
        return len(self.trustees)

    def to_json(self) -> dict:
        return {
            "election": self.election,
            "threshold": self.threshold,
            "trustees": [
                {"index": i, "name": name, "public_key": key} for i, name, key in self.trustees
            ],
            "context": self.context,
        }

    @classmethod
    def from_json(cls, value: Any) -> CeremonyParams:
        try:
            return cls.from_payload(value["election"], value)
        except (KeyError, TypeError) as exc:
            raise TrusteeError(f"malformed ceremony parameters ({exc})") from exc

    @classmethod
    def from_payload(cls, election: str, payload: dict) -> CeremonyParams:
        """From the payload of a ``ceremony`` entry."""
        try:
            trustees = tuple(
                (int(t["index"]), str(t.get("name", "")), str(t["public_key"]))
                for t in payload["trustees"]
            )
            params = cls(str(election), int(payload["threshold"]), trustees, payload["context"])
        except (KeyError, TypeError, ValueError) as exc:
            raise TrusteeError(f"malformed ceremony parameters ({exc})") from exc
        params.ceremony()  # validates keys, indices and the context
        return params

    def ceremony(self) -> Ceremony:
        """The crypto object (registration proofs are not needed past registration)."""
        try:
            ceremony = Ceremony(
                self.election,
                self.threshold,
                tuple(
                    TrusteePublicKey(i, Point.from_hex(key), None) for i, _, key in self.trustees
                ),
            )
        except CryptoError as exc:
            raise TrusteeError(f"invalid ceremony parameters: {exc}") from exc
        if ceremony.context != self.context:
            raise TrusteeError("the ceremony context is not the digest of its parameters")
        return ceremony


# --- Key store helpers -------------------------------------------------------------------------


def keygen(
    path: Path | str, *, election: str, index: int, passphrase: str
) -> tuple[KeyStore, dict]:
    """A new key store for trustee ``index`` of ``election`` and its registration envelope."""
    secret, public = trustee_keygen(index, election)
    store = keystore.create(
        path,
        election=election,
        index=index,
        public_key=public.public_key.to_hex(),
        y_hex=secret.y.to_hex(),
        passphrase=passphrase,
    )
    return store, registration_envelope(public, election)


def registration_envelope(public: TrusteePublicKey, election: str) -> dict:
    return {
        "version": PROTOCOL_VERSION,
        "election": election,
        "trustee": public.index,
        "kind": "registration",
        "message": public.to_json(),
    }


def registration(store: KeyStore) -> dict:
    """A (fresh) registration envelope for the key in ``store``."""
    secret = _secret(store)
    _, public = trustee_keygen(store.index, store.election, rand=_once(secret.y))
    return registration_envelope(public, store.election)


class _once:
    """``rand`` for trustee_keygen that yields the stored secret first, then fresh randomness."""

    def __init__(self, first: Scalar) -> None:
        self.first: Scalar | None = first

    def __call__(self) -> Scalar:
        value, self.first = self.first, None
        return value if value is not None else Scalar.random()


def _secret(store: KeyStore) -> TrusteeSecret:
    try:
        y = Scalar.from_hex(store.secrets["y"], nonzero=True)
    except (CryptoError, KeyError, TypeError) as exc:
        raise TrusteeError(f"{store.path}: the key store holds no valid secret") from exc
    if base_mul(y).to_hex() != store.public_key:
        raise TrusteeError(f"{store.path}: the secret does not match the stored public key")
    return TrusteeSecret(y)


def _check_store(store: KeyStore, params: CeremonyParams) -> tuple[TrusteeSecret, Ceremony]:
    if store.election != params.election:
        raise TrusteeError(
            f"this key store is for election {store.election}, not {params.election}"
        )
    if not 1 <= store.index <= params.n:
        raise TrusteeError(f"trustee {store.index} is not part of this ceremony")
    if params.trustees[store.index - 1][2] != store.public_key:
        raise TrusteeError(
            f"the ceremony lists another key for trustee {store.index} than this key store's"
        )
    return _secret(store), params.ceremony()


def envelope(
    store: KeyStore, params: CeremonyParams, kind: str, message: dict, secret=None
) -> dict:
    """Sign ``message`` of ``kind`` for the server (see the module docstring)."""
    if kind not in ENVELOPE_KINDS[1:]:
        raise TrusteeError(f"unknown message kind {kind!r}")
    if secret is None:
        secret, ceremony = _check_store(store, params)
    else:
        ceremony = params.ceremony()
    body = {
        "version": PROTOCOL_VERSION,
        "election": params.election,
        "trustee": store.index,
        "kind": kind,
        "message": message,
    }
    return trustee_sign(secret, body, ceremony)


# --- Key ceremony steps ------------------------------------------------------------------------


def _prepared(store: KeyStore, params: CeremonyParams) -> dict | None:
    state = store.secrets.get("ceremony")
    if isinstance(state, dict) and state.get("context") == params.context:
        return state
    return None


def step_commit(store: KeyStore, params: CeremonyParams) -> dict:
    """Draw the secret polynomial (once per ceremony: a second call returns the same commitment),
    prepare the deal, keep both in the key store (saved), and return the signed commitment."""
    secret, ceremony = _check_store(store, params)
    state = _prepared(store, params)
    if state is None:
        polynomial = dkg_new_polynomial(params.threshold)
        _, deal = dkg_deal(polynomial, store.index, ceremony)
        store.secrets["ceremony"] = {
            "context": params.context,
            "polynomial": [a.to_hex() for a in polynomial.coefficients],
            "deal": deal.to_json(),
        }
        store.save()
        state = store.secrets["ceremony"]
    deal = DkgDeal.from_json(state["deal"])
    commitment = DkgCommitment(store.index, deal.reveal_digest())
    signed = trustee_sign(secret, commitment.to_json(), ceremony)
    return envelope(store, params, "commitment", signed, secret)


def step_deal(
    store: KeyStore, params: CeremonyParams, *, committed: Iterable[int] | None = None
) -> dict:
    """The signed deal prepared at commitment time. ``committed``: the dealers whose commitment is
    on the board; a deal is revealed only once every trustee has committed (protocol §8.4)."""
    secret, ceremony = _check_store(store, params)
    if committed is not None and sorted(set(committed)) != list(range(1, params.n + 1)):
        missing = sorted(set(range(1, params.n + 1)) - set(committed))
        raise TrusteeError(f"not every trustee has committed yet (missing: {missing})")
    state = _prepared(store, params)
    if state is None:
        raise TrusteeError("this key store made no commitment in this ceremony: commit first")
    signed = trustee_sign(secret, state["deal"], ceremony)
    return envelope(store, params, "deal", signed, secret)


def _deals(params: CeremonyParams, signed_deals: Iterable[dict]) -> list[DkgDeal]:
    """Parse signed deals, keeping those whose dealer's signature holds."""
    ceremony = params.ceremony()
    out = []
    for signed in signed_deals:
        try:
            message = trustee_check_signature(signed, signed.get("dealer"), ceremony)
            out.append(DkgDeal.from_json(message))
        except (CryptoError, AttributeError, TypeError):
            continue
    return sorted(out, key=lambda d: d.dealer)


def step_check(
    store: KeyStore,
    params: CeremonyParams,
    signed_deals: Sequence[dict],
    *,
    commitments: dict[int, DkgCommitment] | None = None,
) -> dict:
    """Decrypt and check this trustee's share of every deal; a complaint (§8.6) for each bad one.

    ``commitments`` (when known) lets deals that fail the public checks be skipped: their dealer
    is disqualified anyway."""
    secret, ceremony = _check_store(store, params)
    complaints = []
    for deal in _deals(params, signed_deals):
        if commitments is not None:
            commitment = commitments.get(deal.dealer)
            if commitment is None:
                continue
            try:
                dkg_check_deal(commitment, deal, ceremony)
            except CryptoError:
                continue
        if len(deal.shares) != params.n:
            continue
        try:
            dkg_open_share(deal, store.index, secret, ceremony)
        except InvalidShare:
            complaints.append(dkg_complain(deal, store.index, secret, ceremony).to_json())
    return envelope(
        store, params, "check", {"version": PROTOCOL_VERSION, "complaints": complaints}, secret
    )


def decryption_share(
    store: KeyStore, params: CeremonyParams, qualified_deals: Sequence[dict]
) -> tuple[Scalar, list[int]]:
    """``xⱼ = Σ_{i∈QUAL} sᵢⱼ`` recomputed from the qualified dealers' (signed) deals."""
    secret, ceremony = _check_store(store, params)
    deals = _deals(params, qualified_deals)
    if len(deals) != len(qualified_deals) or not deals:
        raise TrusteeError("a qualified deal is missing or not signed by its dealer")
    try:
        shares = [dkg_open_share(deal, store.index, secret, ceremony) for deal in deals]
    except InvalidShare as exc:
        raise TrusteeError(f"a qualified dealer's share does not check: {exc}") from exc
    return dkg_combine_shares(shares), [d.dealer for d in deals]


def step_confirm(store: KeyStore, params: CeremonyParams, qualified_deals: Sequence[dict]) -> dict:
    """Confirm ``Xⱼ`` with a proof of knowledge of ``xⱼ`` (§8.8), signed (§8.9); the polynomial is
    then erased from the key store (the prepared deal, public by now, is kept so that repeats
    answer alike)."""
    secret, ceremony = _check_store(store, params)
    share, qualified = decryption_share(store, params, qualified_deals)
    confirmation = dkg_confirm(share, store.index, qualified, ceremony)
    state = _prepared(store, params)
    if state is not None and state.get("polynomial") is not None:
        state["polynomial"] = None
        store.save()
    signed = trustee_sign(secret, confirmation.to_json(), ceremony)
    return envelope(store, params, "confirmation", signed, secret)


# --- Tally -------------------------------------------------------------------------------------


def step_decrypt(
    store: KeyStore,
    params: CeremonyParams,
    qualified_deals: Sequence[dict],
    *,
    fingerprint: str,
    ciphertexts: Sequence[dict],
    verification_key: str | None = None,
) -> dict:
    """The partial decryption (§9.1) of the tally's ciphertexts, in position order, signed: the
    ``partial-decryption`` board payload of §12.4."""
    secret, _ = _check_store(store, params)
    share, _ = decryption_share(store, params, qualified_deals)
    if verification_key is not None and base_mul(share).to_hex() != verification_key:
        raise TrusteeError("the recomputed share does not match this trustee's verification key")
    try:
        cts = [
            Ciphertext.from_json(c, f"tally[{p}]", allow_identity=True)
            for p, c in enumerate(ciphertexts)
        ]
    except CryptoError as exc:
        raise TrusteeError(f"the tally ciphertexts are malformed: {exc}") from exc
    if not cts:
        raise TrusteeError("no ciphertext to decrypt")
    try:
        partial = partial_decrypt(share, store.index, cts, context=fingerprint)
        payload = decryption_sign(secret, partial.to_json(), fingerprint=fingerprint)
    except CryptoError as exc:
        raise TrusteeError(f"cannot decrypt: {exc}") from exc
    return envelope(store, params, "decryption", payload, secret)


# --- Reading a board export --------------------------------------------------------------------

_KIND = re.compile(rb'"kind":"([a-z-]+)"')
_HASH = re.compile(rb'"hash":"([0-9a-f]{64})"')
_PREV = re.compile(rb'"prev":"([0-9a-f]{64})"')
_MAX_LINE = 64 * 1024 * 1024


def board_lines(source: str) -> Iterator[bytes]:
    """Lines of a ``board.jsonl`` file, or of an election's export URL (``…/board.jsonl``)."""
    if re.match(r"^https?://", source):
        # only http(s) URLs reach here
        request = urllib.request.Request(source, headers={"Accept": "application/x-ndjson"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                while line := response.readline(_MAX_LINE + 1):
                    yield line
        except (urllib.error.URLError, OSError) as exc:
            raise TrusteeError(f"cannot download {source}: {exc}") from exc
        return
    try:
        with open(source, "rb") as fh:
            while line := fh.readline(_MAX_LINE + 1):
                yield line
    except OSError as exc:
        raise TrusteeError(f"cannot read {source}: {exc.strerror}") from exc


@dataclass
class BoardView:
    """The entries a trustee needs, read from a board export.

    The hash chain is checked over the whole board: every non-ballot entry is parsed and its
    hash recomputed; ballot and audit lines (most of a board) are only linked by their ``prev`` and
    ``hash`` fields — checking them is the verifier's job: a trustee reads a board only after
    the standalone verifier passed it (tally/trustee_board.py).
    """

    election: str | None = None
    entries: dict[str, list[BoardEntry]] = field(default_factory=dict)
    head: tuple[int, str] | None = None

    @classmethod
    def read(cls, source: str) -> BoardView:
        view = cls()
        prev, seq = "0" * 64, 0
        for line in board_lines(source):
            match = _KIND.search(line, 0, 400)
            kind = match.group(1).decode() if match else None
            if kind in ("ballot", "audit"):
                declared = _HASH.search(line, 0, 400)
                # keys are sorted: "prev" follows the (large) payload, near the end of the line
                prev_match = _PREV.search(line, max(0, len(line) - 400))
                if not declared or not prev_match or prev_match.group(1).decode() != prev:
                    raise TrusteeError(f"board entry {seq}: broken hash chain")
                prev, seq = declared.group(1).decode(), seq + 1
                continue
            try:
                entry = BoardEntry.from_canonical_line(
                    line if line.endswith(b"\n") else line + b"\n"
                )
            except (CryptoError, InvalidChain) as exc:
                raise TrusteeError(f"board entry {seq}: {exc}") from exc
            if entry.seq != seq or entry.prev != prev:
                raise TrusteeError(f"board entry {seq}: broken hash chain")
            if view.election is None:
                view.election = entry.election
            elif entry.election != view.election:
                raise TrusteeError(f"board entry {seq}: belongs to another election")
            view.entries.setdefault(entry.kind, []).append(entry)
            prev, seq = entry.hash, seq + 1
        if view.election is None:
            raise TrusteeError("the board is empty")
        view.head = (seq - 1, prev)
        return view

    def payloads(self, kind: str) -> list[dict]:
        return [e.payload for e in self.entries.get(kind, [])]

    def state(self) -> str:
        """The election's state: the ``to`` of the last ``state`` entry (``draft`` before one)."""
        states = self.payloads("state")
        return states[-1]["to"] if states else "draft"

    def params(self) -> CeremonyParams:
        ceremonies = self.payloads("ceremony")
        if not ceremonies:
            raise TrusteeError("the key ceremony has not started on this board")
        return CeremonyParams.from_payload(self.election, ceremonies[0])

    def commitments(self, params: CeremonyParams) -> dict[int, DkgCommitment]:
        ceremony = params.ceremony()
        out = {}
        for payload in self.payloads("dkg-commitment"):
            try:
                message = trustee_check_signature(payload, payload.get("dealer"), ceremony)
                commitment = DkgCommitment.from_json(message)
            except CryptoError:
                continue
            out.setdefault(commitment.dealer, commitment)
        return out

    def signed_deals(self) -> list[dict]:
        return self.payloads("dkg-deal")

    def qualified_deals(self, params: CeremonyParams) -> list[dict]:
        """The deals of QUAL (§8.7): the ceremony result's list when published, else recomputed
        from the board exactly as a verifier does (valid deals minus justified complaints)."""
        results = self.payloads("ceremony-result")
        deals_by_dealer = {}
        for payload in self.signed_deals():
            deals_by_dealer.setdefault(payload.get("dealer"), payload)
        if results:
            return [deals_by_dealer[i] for i in results[0]["qualified"]]
        ceremony = params.ceremony()
        commitments = self.commitments(params)
        valid: dict[int, DkgDeal] = {}
        for deal in _deals(params, self.signed_deals()):
            commitment = commitments.get(deal.dealer)
            if commitment is None or deal.dealer in valid:
                continue
            try:
                dkg_check_deal(commitment, deal, ceremony)
            except CryptoError:
                continue
            valid[deal.dealer] = deal
        justified = set()
        for payload in self.payloads("dkg-complaint"):
            try:
                complaint = DkgComplaint.from_json(payload)
                deal = valid.get(complaint.dealer)
                if deal is not None and dkg_judge_complaint(complaint, deal, ceremony):
                    justified.add(complaint.dealer)
            except CryptoError:
                continue
        return [deals_by_dealer[i] for i in sorted(valid) if i not in justified]

    def fingerprint(self) -> str:
        manifests = self.payloads("manifest")
        if not manifests:
            raise TrusteeError("the election has not opened on this board (no manifest)")
        return manifests[0]["fingerprint"]

    def tally_entry(self) -> BoardEntry:
        tallies = self.entries.get("tally", [])
        if not tallies:
            raise TrusteeError("no encrypted tally on this board yet")
        return tallies[0]

    def tally_ciphertexts(self) -> list[dict]:
        return [ct for row in self.tally_entry().payload["ciphertexts"] for ct in row]

    def verification_key(self, index: int) -> str | None:
        results = self.payloads("ceremony-result")
        return results[0]["verification_keys"][index - 1] if results else None


BOARD_STEPS = ("commit", "deal", "check", "confirm", "decrypt", "mix", "mix-decrypt")


def tally_record(view: BoardView) -> dict:
    """What a decryption is of: the ``tally`` entry (seq, hash) and the digest of its ciphertexts."""
    entry = view.tally_entry()
    return {
        "election": entry.election,
        "tally_seq": entry.seq,
        "tally_hash": entry.hash,
        "ciphertexts": digest_json(entry.payload["ciphertexts"]),
    }


def decrypt_once(store: KeyStore, view: BoardView) -> dict:
    """The partial decryption of the board's ``tally`` entry, at most once per election and key.

    The first decryption is recorded in the key store (saved: hold :func:`keystore.locked`) with
    the tally entry's hash, the digest of its ciphertexts and the signed message; a repeat for the
    same tally returns that same message; any other tally is refused (:class:`DecryptionRefused`).
    A trustee that decrypted two different tallies of one election with the same share would hand
    out more than the result (e.g. one ballot's content, as a difference).
    """
    record = tally_record(view)
    done = store.secrets.get("decryption")
    if done is not None:
        if (done.get("tally_hash"), done.get("ciphertexts")) == (
            record["tally_hash"],
            record["ciphertexts"],
        ):
            return done["envelope"]
        raise DecryptionRefused(
            f"trustee {store.index} of election {store.election} already decrypted the tally "
            f"entry #{done.get('tally_seq')} ({str(done.get('tally_hash'))[:16]}…); it decrypts "
            f"one tally per election and key, so it refuses the tally entry "
            f"#{record['tally_seq']} ({record['tally_hash'][:16]}…)"
        )
    params = view.params()
    message = step_decrypt(
        store,
        params,
        view.qualified_deals(params),
        fingerprint=view.fingerprint(),
        ciphertexts=view.tally_ciphertexts(),
        verification_key=view.verification_key(store.index),
    )
    store.secrets["decryption"] = {**record, "envelope": message}
    store.save()
    return message


def step_from_board(store: KeyStore, view: BoardView, step: str) -> dict:
    """One ceremony or decryption step for ``store``'s trustee with every input read from the
    board. The caller verified the board first and checked that it allows the step
    (tally.trustee_board.act); ``decrypt`` saves the key store (:func:`decrypt_once`)."""
    params = view.params()
    if step == "commit":
        return step_commit(store, params)
    if step == "deal":
        return step_deal(store, params, committed=view.commitments(params).keys())
    if step == "check":
        return step_check(store, params, view.signed_deals(), commitments=view.commitments(params))
    if step == "confirm":
        return step_confirm(store, params, view.qualified_deals(params))
    if step == "decrypt":
        return decrypt_once(store, view)
    raise TrusteeError(f"unknown step {step!r}")


def dump_json(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True) + "\n"
