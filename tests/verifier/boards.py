"""Boards of any size cut from one election: the ceremony, the credentials and the manifest are
made once, ballots are encrypted once, and :meth:`OpenElection.board` appends any selection of
them (casts, revotes, audits, in any order) followed by the close, the tally, the partial
decryptions and the result. Cutting a board costs a tally and a decryption, not an encryption per
ballot, so tests can sweep every size around the verifier's chunk and batch boundaries.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from pathlib import Path

from crypto.ballot import Ballot, BallotSecrets
from tests.verifier.boardgen import SINGLE5, BoardBuilder, random_choices


@dataclass(frozen=True)
class Cast:
    voter: int
    ballot: Ballot
    choices: list


class OpenElection:
    """An election opened for ``voters`` credentials, with pre-encrypted ballots: ``first[v]`` and
    ``second[v]`` (a revote) for voter ``v`` (revotes for the first ``revoters`` voters), and
    ``audited`` ballots with their randomness."""

    def __init__(
        self,
        voters: int,
        *,
        questions=(SINGLE5,),
        revoters: int = 0,
        audits: int = 0,
        seed: int = 0,
        weights=None,
    ) -> None:
        rng = random.Random(seed)
        b = BoardBuilder(questions=list(questions))
        b.run_ceremony(3, 2)
        b.publish_credentials(voters, weights)
        b.open()
        self.builder = b
        self.voters = voters
        self.first = [self._encrypt(v, rng) for v in range(voters)]
        self.second = [self._encrypt(v, rng) for v in range(revoters)]
        self.audited: list[tuple[Ballot, BallotSecrets]] = [
            b.ballot(0, random_choices(b.manifest, rng)) for _ in range(audits)
        ]

    def _encrypt(self, voter: int, rng) -> Cast:
        choices = random_choices(self.builder.manifest, rng)
        ballot, _ = self.builder.ballot(voter, choices)
        return Cast(voter, ballot, choices)

    def fork(self) -> BoardBuilder:
        """A builder at the opening, independent of this one (entries and votes copied)."""
        b = copy.copy(self.builder)
        b.entries = list(self.builder.entries)
        b.last_choice = dict(self.builder.last_choice)
        return b

    def events(self, ballots: int, *, revotes: int = 0, audits: int = 0, shuffle=None) -> list:
        """``("cast", Cast)`` for the first ``ballots`` voters, ``("cast", Cast)`` revotes of the
        first ``revotes`` voters and ``("audit", k)`` entries; in that order, or shuffled by the
        ``random.Random`` given as ``shuffle``."""
        out = [("cast", self.first[v]) for v in range(ballots)]
        out += [("cast", self.second[v]) for v in range(revotes)]
        out += [("audit", k) for k in range(audits)]
        if shuffle is not None:
            shuffle.shuffle(out)
        return out

    def board(
        self, events: list, *, tally: bool = True, decrypt: bool = True
    ) -> tuple[BoardBuilder, list[list[int]]]:
        """A board with ``events`` appended after the opening, then (unless told otherwise) the
        close, the tally, two partial decryptions and the result; with the expected counts."""
        b = self.fork()
        last: dict[int, Cast] = {}
        for what, item in events:
            if what == "cast":
                b.cast(item.voter, item.choices, ballot=item.ballot)
                last[item.voter] = item
            else:
                ballot, secrets = self.audited[item]
                b.append(
                    "audit",
                    {
                        "ballot": ballot.to_json(),
                        "randomness": secrets.to_json(),
                        "tracker": ballot.tracker(),
                    },
                )
        expected = [[0] * len(q["options"]) for q in b.questions]
        for cast in last.values():
            weight = b.weights[cast.voter]
            for qi, picks in enumerate(cast.choices):
                for oi, x in enumerate(picks):
                    expected[qi][oi] += weight * x
        if tally:
            b.close_and_tally()
            if decrypt:
                b.decrypt((1, 2))
        return b, expected


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path
