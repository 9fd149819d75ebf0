"""Counting rules (docs/protocol.md §16): exact, deterministic, framework-free.

Each rule takes the decrypted ballots of one question and returns a :class:`Result` (winners or
funded projects, an order, the rounds for the results page, and every tie-break it used):

- ranked ballots: :func:`irv` (instant-runoff, one winner), :func:`stv` (the Scottish STV rules,
  s seats), :func:`schulze` (Condorcet–Schulze, a full ranking);
- score ballots: :func:`score` (sum of scores), :func:`star` (score, then automatic runoff);
- approval budgets: :func:`greedy` (today's rule, ``crypto.tally.funded_projects``) and
  :func:`mes` (Method of Equal Shares, cost utilities, "add1" then greedy completion);
- :mod:`crypto.rules.pabulib`: the pabulib ``.pb`` format, read and written.

Numbers are ``int`` and ``fractions.Fraction``; nothing uses floats. Ties that the rules do not
settle otherwise are broken by a *lot order* (:func:`lot_order`): by default the candidates' order
as given (the manifest's order), or a permutation derived from a published seed.
"""

from crypto.rules.budget import greedy, mes
from crypto.rules.common import Result, Round, RuleError, lot_order
from crypto.rules.ranked import irv, schulze, stv
from crypto.rules.score import score, star

__all__ = [
    "Result",
    "Round",
    "RuleError",
    "lot_order",
    "irv",
    "stv",
    "schulze",
    "score",
    "star",
    "greedy",
    "mes",
]
