"""The voter roll: CSV reading with a line-by-line report, all-or-nothing import."""

from __future__ import annotations

import io

import pytest

from identity.errors import RollFrozen, RollInvalid
from identity.models import Voter
from identity.services.voters import roll_read, voter_roll_import
from tests.voting.factories import make_election

pytestmark = pytest.mark.django_db


def lines(text: str | bytes) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8") if isinstance(text, str) else text)


def test_header_bom_blank_lines_quotes_and_default_weight() -> None:
    data = (
        b"\xef\xbb\xbfidentifier,email,weight\r\n"
        b"alice,Alice@Example.org,2\r\n"
        b"\r\n"
        b'"smith, bob",bob@example.org\r\n'
        b"carol,carol@example.org,\n"
    )
    report = roll_read(lines(data))
    assert report.ok, report.errors
    assert [(r.identifier, r.email, r.weight) for r in report.rows] == [
        ("alice", "alice@example.org", 2),
        ("smith, bob", "bob@example.org", 1),
        ("carol", "carol@example.org", 1),
    ]


def test_no_header_is_fine() -> None:
    report = roll_read(lines("v1,v1@example.org\nv2,v2@example.org,3\n"))
    assert [r.weight for r in report.rows] == [1, 3]


def test_every_bad_line_is_reported() -> None:
    data = "\n".join(
        [
            "identifier,email,weight",  # 1 header
            "ok,ok@example.org",  # 2
            "dup,a@example.org",  # 3
            "dup,b@example.org",  # 4 duplicate identifier
            "c,OK@example.org",  # 5 duplicate e-mail (case-insensitive)
            "d,not-an-email",  # 6
            "e,e@example.org,0",  # 7 weight
            "f,f@example.org,1000001",  # 8 weight
            "g,g@example.org,1.5",  # 9 weight
            "h",  # 10 columns
            "i,i@example.org,1,extra",  # 11 columns
            ",j@example.org",  # 12 empty identifier
        ]
    )
    report = roll_read(lines(data))
    assert not report.ok and report.rows == []
    found = {line: message for line, message in report.errors}
    assert sorted(found) == [4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert "duplicate identifier (also on line 3)" in found[4]
    assert "duplicate e-mail address (also on line 2)" in found[5]
    assert "not a valid e-mail" in found[6]
    assert "weight" in found[7] and "weight" in found[8] and "weight" in found[9]
    assert "columns" in found[10] and "columns" in found[11]
    assert "identifier is empty" in found[12]


def test_invalid_utf8_and_empty_files() -> None:
    report = roll_read(lines(b"a,a@example.org\n\xff\xfe,b@example.org\n"))
    assert report.errors == [(2, "not valid UTF-8 text")]
    assert not roll_read(lines(b"")).ok
    assert not roll_read(lines(b"identifier,email\n")).ok


def test_import_is_all_or_nothing() -> None:
    election = make_election()
    with pytest.raises(RollInvalid) as caught:
        voter_roll_import(
            election=election,
            lines=lines("a,a@example.org\nb,bad\n"),
            acting_user=None,
        )
    assert caught.value.details["error_count"] == 1
    assert caught.value.details["errors"] == [
        {"line": 2, "message": "'bad' is not a valid e-mail address"}
    ]
    assert not Voter.objects.filter(election=election).exists()

    report = voter_roll_import(
        election=election, lines=lines("a,a@example.org\nb,b@example.org,7\n"), acting_user=None
    )
    assert len(report.rows) == 2
    assert sorted(Voter.objects.filter(election=election).values_list("identifier", "weight")) == [
        ("a", 1),
        ("b", 7),
    ]
    # A second file may add voters, but not ones already on the roll.
    with pytest.raises(RollInvalid) as caught:
        voter_roll_import(election=election, lines=lines("c,a@example.org\n"), acting_user=None)
    assert "already on the election's roll" in caught.value.details["errors"][0]["message"]


def test_large_rolls_stream(tmp_path) -> None:
    election = make_election()
    path = tmp_path / "roll.csv"
    with path.open("w") as out:
        out.write("identifier,email,weight\n")
        for i in range(20_000):
            out.write(f"voter{i},voter{i}@example.org,{1 + i % 3}\n")
    with path.open("rb") as handle:
        report = voter_roll_import(election=election, lines=handle, acting_user=None)
    assert len(report.rows) == 20_000
    assert Voter.objects.filter(election=election).count() == 20_000


def test_the_roll_is_frozen_once_credentials_are_published(open_election_factory) -> None:
    election = open_election_factory(open_it=False).election
    with pytest.raises(RollFrozen):
        voter_roll_import(election=election, lines=lines("z,z@example.org\n"), acting_user=None)
