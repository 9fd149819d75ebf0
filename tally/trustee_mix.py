"""A trustee's part in the mixnet (docs/protocol.md §15.11): shuffle the list the board holds, and
decrypt the mix's final list. Framework-free, like tally/trustee_steps.py.

Both steps run on a board the trustee verified itself (tally/trustee_board.py): the standalone
verifier checked the derivation of the mix's input and every earlier shuffle, and its mix checker
reads the list to shuffle (or to decrypt) from those very bytes — never from the server's request.
A mixer handed a tampered earlier shuffle thus refuses before it shuffles anything.
"""

from __future__ import annotations

from crypto.errors import CryptoError
from crypto.group import base_mul
from crypto.hashing import Tag, digest_json
from crypto.mix.decryption import mix_partial_decrypt
from crypto.mix.generators import shuffle_generators
from crypto.mix.shuffle import ShuffleSetting, chunk_bounds, prove_shuffle, shuffle
from crypto.signatures import SigningKey, sign
from crypto.threshold import decryption_sign
from tally.keystore import KeyStore
from tally.trustee_board import NothingToDo, StepRefused, VerifiedBoard
from tally.trustee_steps import (
    TrusteeError,
    _check_store,
    decryption_share,
    envelope,
)
from verifier.api import shuffle_signed_message

__all__ = ["MIX_PART_CIPHERTEXTS", "rows_per_part", "mix_allowed", "step_mix", "step_mix_decrypt"]

#: ciphertexts per board entry of a shuffle or a decryption (§15.11: the parts' size is free)
MIX_PART_CIPHERTEXTS = 2000


def rows_per_part(width: int) -> int:
    return max(1, MIX_PART_CIPHERTEXTS // width)


def _mix(board: VerifiedBoard):
    checked = board.checked
    if checked is None:
        raise StepRefused("a trustee mixes or decrypts the mix only on a board it verified")
    return checked.mix


def mix_allowed(board: VerifiedBoard, store: KeyStore, step: str) -> None:
    """Raise :class:`StepRefused` or :class:`NothingToDo` unless the verified board asks ``store``'s
    trustee to shuffle (``mix``) or to decrypt the final list (``mix-decrypt``) now."""
    view = board.view
    state = view.state()
    if state != "tallying":
        raise StepRefused(f"the election is {state}: the trustees mix in state tallying")
    if board.report is None or not board.report.tally_verified:
        raise StepRefused("the verifier did not recompute the encrypted tally")
    mix = _mix(board)
    if not mix.needed:
        raise NothingToDo("no mix on this board (no mixed question, or no counted ballot)")
    if step == "mix":
        if mix.complete:
            raise NothingToDo("every trustee has shuffled or been skipped")
        if mix.next_mixer != store.index:
            raise StepRefused(f"trustee {mix.next_mixer} mixes next, not {store.index}")
        return
    if not mix.complete:
        raise StepRefused("the mix is not complete")
    threshold = mix.facts.manifest.threshold
    if len(mix.shuffles) < threshold:
        raise StepRefused(f"only {len(mix.shuffles)} trustees shuffled, {threshold} must")
    if mix.done:
        raise NothingToDo("the mix's rows are published")
    if store.index in mix.decryptions:
        raise NothingToDo("this trustee's decryption of the final list is on the board")


def step_mix(store: KeyStore, board: VerifiedBoard) -> dict:
    """Shuffle the list the verified board holds (the derived input, or the last shuffle's
    output), prove it, sign the statement and the proof's head; the envelope's message holds the
    board payloads, one per part."""
    mix = _mix(board)
    params = board.view.params()
    secret, _ = _check_store(store, params)
    manifest = mix.facts.manifest
    inputs = mix.current.whole()
    setting = ShuffleSetting(
        manifest.fingerprint, manifest.key, store.index, manifest.trustee_keys[store.index - 1]
    )
    per = rows_per_part(inputs.width)
    try:
        outputs, witness = shuffle(manifest.key, inputs)
        proof = prove_shuffle(
            setting,
            inputs,
            outputs,
            witness,
            generators=shuffle_generators(manifest.fingerprint),
            rows_per_chunk=per,
        )
    except CryptoError as exc:
        raise TrusteeError(f"cannot shuffle: {exc}") from exc
    n, w = len(inputs), inputs.width
    statement = setting.statement(n, w, inputs.digest(), outputs.digest())
    head = proof.head.to_json()
    signature = sign(
        SigningKey(secret.y),
        digest_json(shuffle_signed_message(statement, head)),
        context=manifest.data["ceremony"],
        tag=Tag.TRUSTEE_SIGNATURE,
    ).to_json()
    parts = []
    for i, chunk in enumerate(proof.chunks):
        parts.append(
            {
                "mixer": store.index,
                "part": i,
                "parts": len(proof.chunks),
                "offset": chunk.offset,
                "rows": n,
                "width": w,
                "ciphertexts": outputs.slice(chunk.offset, chunk.stop).to_json()["rows"],
                "proof": chunk.to_json(),
                "head": head if i == 0 else None,
                "signature": signature if i == 0 else None,
            }
        )
    return envelope(store, params, "shuffle", {"parts": parts}, secret)


def step_mix_decrypt(store: KeyStore, board: VerifiedBoard) -> dict:
    """The partial decryption of the verified mix's final list, in parts, each signed; at most one
    final list per election and key (the key store records the list's digest)."""
    mix = _mix(board)
    params = board.view.params()
    secret, _ = _check_store(store, params)
    manifest = mix.facts.manifest
    final = mix.current
    digest = final.digest()
    done = store.secrets.get("mix-decryption")
    if done is not None and done.get("list") != digest:
        raise TrusteeError(
            f"trustee {store.index} already decrypted another final list of this election "
            f"({str(done.get('list'))[:16]}…): it decrypts one mix per election and key"
        )
    share, _ = decryption_share(store, params, board.view.qualified_deals(params))
    verification_key = board.view.verification_key(store.index)
    if verification_key is not None and base_mul(share).to_hex() != verification_key:
        raise TrusteeError("the recomputed share does not match this trustee's verification key")
    bounds = chunk_bounds(final.rows, rows_per_part(final.width))
    parts = []
    for i, (lo, hi) in enumerate(bounds):
        d = mix_partial_decrypt(
            share, store.index, final.slice(lo, hi), lo, fingerprint=manifest.fingerprint
        )
        signed = decryption_sign(secret, d.to_json(), fingerprint=manifest.fingerprint)
        parts.append({"part": i, "parts": len(bounds), **signed})
    message = envelope(store, params, "mix-decryption", {"parts": parts}, secret)
    if done is None:  # a repeat for the same list draws new proofs of the same shares
        store.secrets["mix-decryption"] = {"list": digest}
        store.save()
    return message
