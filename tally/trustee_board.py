"""A trustee acts only on a board it verified itself, and only when that board allows the step.

Framework-free (crypto/, the standalone verifier, the standard library): the trustee's worker
(tally/trustee_worker.py) and the offline CLI (``pnyx-trustee``) both use it; docs/trustees.md
says the same for people.

* :func:`download` fetches a board export over HTTP(S) once, into a file; :func:`verify_file` runs
  the standalone verifier (``verifier.api.verify_board``) on those bytes, and every input of a
  step is then read from the very same file (:class:`VerifiedBoard`): nothing is fetched twice.
* :func:`allowed` says whether a verified board allows a step for a trustee now, :func:`due` which
  step it calls for, and :func:`act` does the step (tally.trustee_steps.step_from_board): deal only
  once every commitment is on the board; check and confirm with the board's deals and complaints
  (QUAL as the board implies it); decrypt only the ``tally`` entry, in state ``tallying``, once the
  verifier has recomputed it from the counted ballots, and at most once per election and key
  (tally.trustee_steps.decrypt_once).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tally.keystore import KeyStore
from tally.trustee_steps import BOARD_STEPS, BoardView, TrusteeError, step_from_board
from verifier.api import BoardSource, SourceError, verify_board

_URL = re.compile(r"^https?://", re.IGNORECASE)


class BoardRefused(TrusteeError):
    """The board does not verify (the verifier's finding), or it cannot be read."""


class StepRefused(TrusteeError):
    """The verified board does not allow this step now."""


class NothingToDo(TrusteeError):
    """The step is over on the board (the ceremony finished, the result is published), or the
    board calls for nothing from this trustee now. ``head``: the last entry of the board verified
    (set by the trustee's worker)."""

    head: int | None = None


@dataclass(frozen=True)
class VerifiedBoard:
    """A board file, the verifier's report on exactly those bytes (``None`` only when the trustee
    explicitly skipped verification: ``pnyx-trustee --no-verify``) and the entries a trustee
    reads from them."""

    path: Path
    view: BoardView
    report: object | None  #: verifier.report.Report
    #: the verifier that passed the board (verifier.engine.Verifier): its mix checker knows the
    #: mix's lists as the board holds them (tally/trustee_mix.py)
    checked: object | None = None

    @property
    def verified(self) -> bool:
        return self.report is not None

    @property
    def head(self) -> tuple[int, str]:
        if self.report is not None:
            return self.report.head_seq, self.report.head_hash
        return self.view.head


def is_url(source: str) -> bool:
    return bool(_URL.match(source))


def board_url(base: str, election: str) -> str:
    """The export URL of ``election`` on the server at ``base`` (``https://vote.example.org``);
    a URL that already names a ``….jsonl`` export, or holds ``{election}``, is taken as it is."""
    if "{election}" in base:
        return base.replace("{election}", election)
    if base.split("?", 1)[0].endswith(".jsonl"):
        return base
    return f"{base.rstrip('/')}/api/elections/{election}/board.jsonl"


def download(url: str, dest: Path, *, append: bool = False, timeout: float = 120.0) -> int:
    """Stream ``url`` (http or https only) into ``dest``; returns the number of bytes written."""
    if not is_url(url):
        raise BoardRefused(f"not an http(s) URL: {url}")
    # only http(s) URLs reach here
    request = urllib.request.Request(url, headers={"Accept": "application/x-ndjson"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            with open(dest, "ab" if append else "wb") as out:
                before = out.tell()
                shutil.copyfileobj(response, out, 1 << 20)
                return out.tell() - before
    except (urllib.error.URLError, OSError) as exc:
        raise BoardRefused(f"cannot download {url}: {exc}") from exc


def verify_file(path: Path, *, since: str | None = None, jobs: int | None = None) -> VerifiedBoard:
    """Run the standalone verifier on ``path`` (``since``: the head hash verified before, whose
    entries' proofs are not checked again — the chain, the tally and every later entry are); raise
    :class:`BoardRefused` with the verifier's finding unless every check passes."""
    try:
        source = BoardSource(str(path))
    except SourceError as exc:
        raise BoardRefused(str(exc)) from exc
    try:
        report, checked = verify_board(source, jobs=jobs or 1, since=since)
    except SourceError as exc:
        raise BoardRefused(str(exc)) from exc
    finally:
        source.close()
    if report.failure is not None:
        raise BoardRefused(f"the board does not verify: {report.failure}")
    return VerifiedBoard(Path(path), BoardView.read(str(path)), report, checked)


@contextlib.contextmanager
def board_from(
    source: str, *, verify: bool = True, jobs: int | None = None
) -> Iterator[VerifiedBoard]:
    """The board at ``source`` (a URL, read once, or a file, copied once), verified unless
    ``verify`` is false, in a temporary file that is deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="pnyx-trustee-") as tmp:
        path = Path(tmp) / "board.jsonl"
        if is_url(source):
            download(source, path)
        else:
            try:
                shutil.copyfile(source, path)
            except OSError as exc:
                raise BoardRefused(f"cannot read {source}: {exc.strerror}") from exc
        if verify:
            yield verify_file(path, jobs=jobs)
        else:
            yield VerifiedBoard(path, BoardView.read(str(path)), None)


# --- What a verified board allows --------------------------------------------------------------


def _ceremony_allows(view: BoardView, store: KeyStore, step: str) -> None:
    if view.payloads("ceremony-result"):
        raise NothingToDo("the key ceremony is over (its result is on the board)")
    state = view.state()
    if state != "key_ceremony" or not view.payloads("ceremony"):
        raise StepRefused(f"the key ceremony has not started on this board (state {state})")
    params = view.params()
    committed = view.commitments(params)
    if step == "commit":
        if view.signed_deals() and store.index not in committed:
            raise StepRefused("the deals are being revealed: it is too late to commit")
        return
    missing = sorted(set(range(1, params.n + 1)) - set(committed))
    if missing:
        raise StepRefused(f"not every trustee has committed yet (missing: {missing})")
    if step == "deal":
        return
    if not view.signed_deals():
        raise StepRefused("no deal is on the board yet")
    if step == "confirm":
        dealt = {payload.get("dealer") for payload in view.signed_deals()}
        if store.index not in dealt:
            # protocol §8.4, §8.8: with this trustee's deal withheld, QUAL may hold no honest
            # dealer, and whoever dealt the rest could know the election key
            raise StepRefused(
                f"trustee {store.index}'s own deal is not on the board: it does not confirm a "
                "key it did not contribute to. If it sent its deal, the server withheld it — "
                "tell the officials and the observers (docs/trustees.md)"
            )
        if not view.qualified_deals(params):
            raise StepRefused("no dealer is qualified: the ceremony failed")


def _decryption_allowed(board: VerifiedBoard) -> None:
    view = board.view
    if view.payloads("result"):
        raise NothingToDo("the result is already published")
    state = view.state()
    if state != "tallying":
        raise StepRefused(
            f"the election is {state}: a trustee decrypts only the tally entry, in state tallying"
        )
    if not view.payloads("tally"):
        raise StepRefused("no tally entry on this board")
    if board.report is not None and not board.report.tally_verified:
        raise StepRefused(
            "the verifier did not recompute the encrypted tally from the counted ballots"
        )
    if not view.payloads("ceremony-result"):
        raise StepRefused("the election key does not come from a key ceremony on this board")


def allowed(board: VerifiedBoard, store: KeyStore, step: str) -> None:
    """Raise :class:`StepRefused` (or :class:`NothingToDo`) unless the board allows ``step`` for
    ``store``'s trustee now."""
    if step not in BOARD_STEPS:
        raise StepRefused(f"unknown step {step!r}")
    if board.view.election != store.election:
        raise StepRefused(
            f"this board is election {board.view.election}'s; the key store is for "
            f"election {store.election}"
        )
    if step == "decrypt":
        _decryption_allowed(board)
    elif step in ("mix", "mix-decrypt"):
        from tally.trustee_mix import mix_allowed

        mix_allowed(board, store, step)
    else:
        _ceremony_allows(board.view, store, step)


def due(board: VerifiedBoard, store: KeyStore) -> str | None:
    """The step the board calls for from this trustee, when that is plain from the board alone
    (check and confirm need the server's phase: they come as the request's hint)."""
    view = board.view
    state = view.state()
    if state == "tallying" and not view.payloads("result"):
        return "decrypt"
    if state != "key_ceremony" or not view.payloads("ceremony"):
        return None
    if view.payloads("ceremony-result"):
        return None
    params = view.params()
    committed = view.commitments(params)
    if store.index not in committed:
        return "commit"
    dealt = {p.get("dealer") for p in view.signed_deals()}
    if len(committed) == params.n and store.index not in dealt:
        return "deal"
    return None


def act(store: KeyStore, board: VerifiedBoard, step: str | None = None) -> dict:
    """Do ``step`` (or the step :func:`due` finds) for ``store``'s trustee, every input read from
    ``board``, if the board allows it; returns the signed envelope. Saves the key store when the
    step changes it (commit, confirm, decrypt): hold ``keystore.locked``."""
    if step is None:
        step = due(board, store)
        if step is None:
            raise NothingToDo(
                f"the board (state {board.view.state()}) calls for nothing from trustee "
                f"{store.index} now"
            )
    allowed(board, store, step)
    if step in ("mix", "mix-decrypt"):
        from tally.trustee_mix import step_mix, step_mix_decrypt

        return (step_mix if step == "mix" else step_mix_decrypt)(store, board)
    return step_from_board(store, board.view, step)
