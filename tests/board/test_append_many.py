"""A group commit (board_append_many) chains entries exactly as one append after another would,
and its lines are byte for byte crypto.board's canonical entries."""

from __future__ import annotations

import pytest
from django.db import transaction

from board.models import BoardEntry, BoardHead
from board.services import board_append_locked, board_append_many, board_lock
from crypto.board import BoardEntry as ChainEntry
from crypto.board import verify_chain
from tests.voting.factories import make_election

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("n", [0, 1, 2, 63, 64, 65])
def test_a_group_commit_is_a_run_of_single_appends(n: int) -> None:
    first, second = make_election(), make_election()
    items = [("tally", {"i": i, "text": 'é\u2028"q"'}, None) for i in range(n)]
    with transaction.atomic():
        head = board_lock(election_id=first.pk)
        time = "2030-01-01T00:00:00.000Z"
        many = board_append_many(head=head, items=items, time=time)
    with transaction.atomic():
        head = board_lock(election_id=second.pk)
        single = [
            board_append_locked(head=head, kind=k, payload=p, tracker=t, time=time)
            for k, p, t in items
        ]
    assert [e.seq for e in many] == [e.seq for e in single] == list(range(1, n + 1))
    stored = list(BoardEntry.objects.filter(election=first).order_by("seq"))
    assert len(stored) == n + 1
    lines = [row.line.encode() + b"\n" for row in stored]
    verify_chain(ChainEntry.from_canonical_line(line) for line in lines)
    for row in stored[1:]:
        parsed = ChainEntry.from_canonical_line(row.line.encode() + b"\n")
        assert parsed.to_line() == row.line.encode() + b"\n"
        assert parsed.hash == row.hash
    assert BoardHead.objects.get(election=first).seq == n
    assert BoardHead.objects.get(election=first).hash == stored[-1].hash
