"""Close and tally an election built by tests/voting/factories.py, as the tally app will.

A stand-in until the tally issue lands: the trustees' shares are the test's own (the factory ran
the key ceremony), and the entries written are exactly those of docs/protocol.md §12.3–§12.4 —
``tally``, ``partial-decryption`` (t of them), ``result`` — with the state changes closed →
tallying → tallied, so that the exported board passes ``pnyx-verify`` with the result verified.
"""

from __future__ import annotations

from django.db import transaction

from crypto.dlog import DlogTable
from crypto.tally import Aggregator, funded_projects, tally_to_json
from crypto.threshold import combine_partial_decryptions, partial_decrypt
from tests.voting.factories import OpenElection
from voting.models import Ballot, ElectionState
from voting.selectors import ballots_counted_with_weights
from voting.services.board import board_append
from voting.services.elections import election_close, election_finish_tally, election_start_tally


def close_and_tally(opened: OpenElection) -> list[list[int]]:
    """Close the election, publish its encrypted tally, t partial decryptions and the result;
    return the counts."""
    election = opened.election
    election.refresh_from_db()
    if election.state == ElectionState.OPEN:
        election_close(election=election, acting_user=None)
    manifest = opened.manifest
    spec = manifest.spec
    aggregator = Aggregator(spec)
    for ballot, weight in ballots_counted_with_weights(election=election):
        aggregator.add(ballot, weight)
    tally = aggregator.totals()
    superseded = Ballot.objects.filter(election=election, superseded_by__isnull=False).count()
    with transaction.atomic():
        board_append(
            election=election,
            kind="tally",
            payload={
                "counted": aggregator.count,
                "superseded": superseded,
                "weight": aggregator.weight,
                "ciphertexts": tally_to_json(tally, spec.questions),
            },
        )
    election_start_tally(election=election, acting_user=None)
    threshold = opened.ceremony.threshold
    partials = {}
    for j in sorted(opened.ceremony.shares)[:threshold]:
        partial = partial_decrypt(opened.ceremony.shares[j], j, tally, context=manifest.fingerprint)
        with transaction.atomic():
            board_append(
                election=election,
                kind="partial-decryption",
                payload={"decryption": partial.to_json()},
            )
        partials[j] = partial
    points = combine_partial_decryptions(tally, partials, threshold)
    table = DlogTable(aggregator.weight + 1)
    flat = iter([table.solve(point) for point in points])
    counts, funded = [], []
    for question, question_spec in zip(manifest.data["questions"], spec.questions, strict=True):
        row = [next(flat) for _ in range(question_spec.options)]
        counts.append(row)
        funded.append(
            [
                question["options"][i]["id"]
                for i in funded_projects(row, question_spec.costs, question_spec.budget)
            ]
            if question["kind"] == "budget"
            else None
        )
    with transaction.atomic():
        board_append(
            election=election,
            kind="result",
            payload={
                "counts": counts,
                "funded": funded,
                "trustees": sorted(partials),
                "counted": aggregator.count,
                "weight": aggregator.weight,
            },
        )
    election_finish_tally(election=election, acting_user=None)
    election.refresh_from_db()
    return counts
