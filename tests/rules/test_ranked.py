"""Instant-runoff, Scottish STV and Schulze: hand examples, edge cases, and agreement with
pref_voting on thousands of seeded random profiles (tie-free ones where tie-breaks differ)."""

from __future__ import annotations

import random
import time
from fractions import Fraction

import pytest

from crypto.rules import RuleError, irv, lot_order, schulze, stv
from tests.rules.generators import ranked_profile

# --- instant-runoff ---------------------------------------------------------------


def test_irv_hand_example():
    # A 4, B 3, C 2 (C's voters prefer B): C is excluded, B wins 5 to 4.
    ballots = [["A"]] * 4 + [["B", "A"]] * 3 + [["C", "B"]] * 2
    r = irv(ballots, ["A", "B", "C"])
    assert r.winners == ("B",)
    assert [(x.action, x.subject) for x in r.rounds] == [("exclude", "C"), ("elect", "B")]
    assert r.rounds[1].tallies == {"A": 4, "B": 5}


def test_irv_majority_in_first_round_and_exhausted_ballots():
    r = irv([["A"], ["A"], ["B"]], ["A", "B", "C"])
    assert r.winners == ("A",) and len(r.rounds) == 1
    r = irv([["C"], ["A"], ["A"], ["B"], ["B"]], ["A", "B", "C"], lot=["B", "A", "C"])
    # C excluded; its ballot is exhausted; A–B tie at 2: equal at every earlier round -> lot
    assert r.rounds[1].exhausted == 1
    assert r.winners == ("B",) and r.rounds[1].tie == "lot"


def test_irv_tie_broken_by_previous_round():
    # Round 1: A 4, B 3, C 3, D 2 -> D excluded; D's ballots go 2 to C... build: after D, B 3 and C 5?
    ballots = [["A"]] * 5 + [["B"]] * 3 + [["C"]] * 2 + [["D", "C"]] * 1 + [["E", "B"]] * 1
    # round 1: A5 B3 C2 D1 E1 -> D/E tie at 1, never unequal -> lot excludes the last in lot (E)
    r = irv(ballots, ["A", "B", "C", "D", "E"])
    assert r.rounds[0].subject == "E" and r.rounds[0].tie == "lot"
    # round 2: A5 B4 C2 D1 -> D; round 3: A5 B4 C3 -> C; round 4: A5 B4 (C's ballots exhaust)
    assert r.winners == ("A",)
    ballots = [["A"]] * 5 + [["B"]] * 2 + [["C"]] * 3 + [["D", "B"]] * 1
    # round 1: A5 B2 C3 D1 -> D; round 2: A5 B3 C3 tie, round 1 had B2 < C3 -> B excluded
    r = irv(ballots, ["A", "B", "C", "D"])
    assert r.rounds[1].subject == "B" and r.rounds[1].tie == "previous-round"


def test_irv_edges():
    assert irv([], ["A", "B"]).winners == ()
    assert irv([[], []], ["A"]).details["blank"] == 2
    assert irv([["B"]], ["A", "B"]).winners == ("B",)  # one voter
    assert irv([["A"]], ["A"]).winners == ("A",)
    # all tied, no ballot distinguishes: lot order decides (first in lot survives)
    r = irv([["A"], ["B"], ["C"]], ["A", "B", "C"], lot=["C", "A", "B"])
    assert r.winners == ("C",)
    with pytest.raises(RuleError):
        irv([["A", "A"]], ["A", "B"])
    with pytest.raises(RuleError):
        irv([["Z"]], ["A", "B"])
    with pytest.raises(RuleError):
        irv([["A"]], ["A", "B"], weights=[0])
    with pytest.raises(RuleError):
        irv([["A"]], ["A", "B"], lot=["A"])


def test_lot_order_from_seed_is_a_fixed_permutation():
    order = lot_order(["A", "B", "C", "D"], b"published seed")
    assert sorted(order) == ["A", "B", "C", "D"]
    assert order == lot_order(["A", "B", "C", "D"], b"published seed")
    assert lot_order(["A", "B"], None) == ("A", "B")
    seeds = {lot_order(list(range(6)), bytes([i])) for i in range(20)}
    assert len(seeds) > 10


# --- Scottish STV -------------------------------------------------------------------


def test_stv_surplus_transfer_five_decimals():
    # 3 seats, 20 valid papers: quota = 20 // 4 + 1 = 6.
    # A has 9 first preferences (surplus 3): each paper's transfer value = 3 x 1 / 9 = 0.33333.
    ballots = [["A", "B"]] * 6 + [["A", "C"]] * 3 + [["B"]] * 2 + [["C"]] * 4 + [["D"]] * 5
    r = stv(ballots, ["A", "B", "C", "D"], 3)
    assert r.details["quota"] == 6
    second = r.rounds[1]
    assert second.action == "surplus" and second.subject == "A"
    assert second.tallies["B"] == 2 + 6 * Fraction(33333, 100000)
    assert second.tallies["C"] == 4 + 3 * Fraction(33333, 100000)
    assert second.extra["lost"] == Fraction(3, 100000)  # 3 - 9 x 0.33333
    assert second.tallies["A"] == 6
    # stage 3: B 3.99998, C 4.99999, D 5: B excluded (its papers have no next preference)
    third = r.rounds[2]
    assert third.action == "exclude" and third.subject == "B"
    assert third.exhausted == 2 + 6 * Fraction(33333, 100000)
    # only C and D remain for 2 vacancies: both deemed elected (rule 52)
    assert r.winners == ("A", "D", "C")


def test_stv_later_surplus_uses_received_value():
    # A surplus reaches B, whose own surplus is then passed on at value x surplus / total.
    ballots = [["A", "B", "C"]] * 8 + [["B", "D"]] * 3 + [["C"]] * 2 + [["D"]] * 2
    r = stv(ballots, ["A", "B", "C", "D"], 2)
    # 15 papers, quota 6. A: 8 -> surplus 2, tv = 2/8 = 0.25 on 8 papers -> B gets 2 => B 5.
    assert r.rounds[1].tallies["B"] == 5
    assert r.winners[0] == "A"


def test_stv_ties_by_previous_stage_then_lot():
    # C and D tie at the exclusion; they were unequal at stage 1.
    ballots = [["A", "D"]] * 7 + [["B"]] * 4 + [["C"]] * 3 + [["D"]] * 2
    r = stv(ballots, ["A", "B", "C", "D"], 2)
    # 16 papers, quota 6; A surplus 1 -> 7 papers x 0.14285 = 0.99995 to D: D 2.99995 < C 3.
    assert r.rounds[2].subject == "D"
    # exactly equal at every stage: lot (latest in the lot order is excluded)
    r = stv([["A"], ["B"], ["C"]], ["A", "B", "C"], 1, lot=["B", "C", "A"])
    assert r.rounds[1].tie == "lot" and r.rounds[1].subject == "A"


def test_stv_edges():
    assert stv([], ["A", "B"], 1).winners == ()
    # more seats than candidates: every candidate elected
    assert set(stv([["A"]], ["A", "B"], 5).winners) == {"A", "B"}
    # one voter, one seat: quota 1, elected at once
    assert stv([["B", "A"]], ["A", "B"], 1).winners == ("B",)
    with pytest.raises(RuleError):
        stv([["A"]], ["A"], 0)
    # weights count as identical papers
    a = stv([["A"], ["B"], ["B"]], ["A", "B", "C"], 1)
    b = stv([["A"], ["B"]], ["A", "B", "C"], 1, weights=[1, 2])
    assert a.winners == b.winners and a.rounds[0].tallies == b.rounds[0].tallies


def test_stv_conserves_every_vote():
    rng = random.Random(7)
    for _ in range(200):
        cands, rankings, weights = ranked_profile(rng)
        seats = rng.randint(1, 4)
        r = stv(rankings, cands, seats, weights=weights)
        last = r.rounds[-1]
        kept = sum(last.tallies.values())
        assert kept + last.exhausted + last.extra["lost"] == sum(weights)
        assert len(r.winners) == min(seats, len(cands)) and len(set(r.winners)) == len(r.winners)


# --- Schulze ---------------------------------------------------------------------------


def test_schulze_wikipedia_example():
    # The classic 45-voter example (A..E): Schulze ranking E > A > C > B > D.
    spec = [
        (5, "ACBED"),
        (5, "ADECB"),
        (8, "BEDAC"),
        (3, "CABED"),
        (7, "CAEBD"),
        (2, "CBADE"),
        (7, "DCEBA"),
        (8, "EBADC"),
    ]
    ballots, weights = [list(s) for _, s in spec], [n for n, _ in spec]
    r = schulze(ballots, list("ABCDE"), weights=weights)
    assert r.ranking == tuple("EACBD")
    assert r.details["pairwise"]["A"]["B"] == 20
    assert r.details["unbeaten"] == ["E"]


def test_schulze_edges():
    r = schulze([], ["A", "B"])
    assert r.winners == () and r.ranking == ("A", "B")
    r = schulze([["A"], ["B"]], ["A", "B"], lot=["B", "A"])
    assert r.ranking == ("B", "A") and r.ties  # a tie ordered by lot
    assert schulze([["B"]], ["A", "B", "C"]).ranking == ("B", "A", "C")


# --- oracle: pref_voting -------------------------------------------------------------

pv_profiles = pytest.importorskip("pref_voting.profiles_with_ties")


def _profile(cands, rankings, weights):
    profile = pv_profiles.ProfileWithTies(
        [{c: i + 1 for i, c in enumerate(r)} for r in rankings], rcounts=weights, candidates=cands
    )
    profile.use_extended_strict_preference()  # unranked candidates below ranked ones
    return profile


def test_irv_and_schulze_agree_with_pref_voting():
    from pref_voting.iterative_methods import instant_runoff
    from pref_voting.margin_based_methods import beat_path

    rng = random.Random(2026)
    start, compared_irv = time.monotonic(), 0
    for _ in range(1500):
        cands, rankings, weights = ranked_profile(rng)
        profile = _profile(cands, rankings, weights)
        ours = schulze(rankings, cands, weights=weights)
        assert sorted(ours.details["unbeaten"]) == sorted(beat_path(profile))
        ours = irv(rankings, cands, weights=weights)
        if not ours.ties:
            assert list(ours.winners) == instant_runoff(profile)
            compared_irv += 1
    assert compared_irv > 600
    assert time.monotonic() - start < 30


def test_stv_agrees_with_pref_voting_scottish():
    from pref_voting.proportional_methods import stv_scottish

    rng = random.Random(13)
    start, compared = time.monotonic(), 0
    for _ in range(1000):
        cands, rankings, weights = ranked_profile(rng, max_voters=40)
        seats = rng.randint(1, 3)
        ours = stv(rankings, cands, seats, weights=weights)
        if ours.ties:
            continue
        theirs = stv_scottish(_profile(cands, rankings, weights), num_seats=seats)
        assert sorted(ours.winners) == sorted(theirs), (cands, rankings, weights, seats)
        compared += 1
    assert compared > 400
    assert time.monotonic() - start < 30
