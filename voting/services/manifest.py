"""The election manifest (format: crypto/manifest.py) built from the models, and what follows
from it: question checks for officials and the largest ballot the election can have."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from crypto.ballot import MAX_AMOUNT, MAX_OPTIONS, MAX_QUESTIONS, MAX_SCORE, QuestionSpec
from crypto.encoding import PROTOCOL_VERSION
from crypto.errors import InvalidEncoding
from crypto.proofs.disjunctive import MAX_SET_SIZE
from voting.models import Election, Option, Question, QuestionKind


def manifest_timestamp(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC, to the second), as crypto.manifest.parse_timestamp reads."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def question_id(position: int) -> str:
    """Manifest id of the question at 0-based ``position``: ``q1``, ``q2``…"""
    return f"q{position + 1}"


def option_id(question_position: int, option_position: int) -> str:
    """Manifest id of an option: ``q1o1``, ``q1o2``…"""
    return f"{question_id(question_position)}o{option_position + 1}"


def question_bounds(question: Question, options: Sequence[Option]) -> tuple[int, int]:
    """(min, max) as the manifest states them: selections, or for a score question the total
    score (empty maximum: n·S, no limit)."""
    if question.kind in (QuestionKind.REFERENDUM, QuestionKind.SINGLE):
        return (0 if question.blank_allowed else 1), 1
    top = len(options)
    if question.kind == QuestionKind.SCORE:
        top *= question.max_score or 1
    low = question.min_selections if question.min_selections is not None else 0
    high = question.max_selections if question.max_selections is not None else top
    return low, high


def question_max_score(question: Question) -> int | None:
    """S of a score question (the manifest's ``max_score``), ``None`` for other kinds."""
    return question.max_score if question.kind == QuestionKind.SCORE else None


def question_problems(question: Question, options: Sequence[Option]) -> list[str]:
    """What an official must fix in this question (empty when it can go into a manifest)."""
    where = f"Question “{question.title or question.pk}”"
    problems = []
    n = len(options)
    kind = question.kind
    if not question.title.strip():
        problems.append(f"{where}: the title is empty.")
    if any(not option.title.strip() for option in options):
        problems.append(f"{where}: every option needs a title.")
    if n > MAX_OPTIONS:
        problems.append(f"{where}: at most {MAX_OPTIONS} options.")
    if kind == QuestionKind.REFERENDUM and n != 2:
        problems.append(f"{where}: a referendum has exactly two options (yes and no).")
    if kind in (QuestionKind.SINGLE, QuestionKind.APPROVAL, QuestionKind.SCORE) and n < 2:
        problems.append(f"{where}: add at least two options.")
    if kind == QuestionKind.BUDGET and n < 1:
        problems.append(f"{where}: add at least one option.")
    if kind in (QuestionKind.REFERENDUM, QuestionKind.SINGLE):
        if question.min_selections is not None or question.max_selections is not None:
            problems.append(
                f"{where}: minimum and maximum selections apply to approval, budget and score "
                "questions only (use “blank vote allowed”)."
            )
    if kind != QuestionKind.BUDGET:
        if question.budget is not None or any(o.cost is not None for o in options):
            problems.append(f"{where}: only budget questions have a budget and option costs.")
    else:
        if question.budget is None:
            problems.append(f"{where}: set the budget.")
        if any(o.cost is None for o in options):
            problems.append(f"{where}: every option of a budget question needs a cost.")
        if any(
            v is not None and v > MAX_AMOUNT for v in [question.budget, *(o.cost for o in options)]
        ):
            problems.append(f"{where}: amounts are at most {MAX_AMOUNT}.")
    if kind == QuestionKind.SCORE:
        if question.max_score is None or not 1 <= question.max_score <= MAX_SCORE:
            problems.append(f"{where}: set the maximum score (from 1 to {MAX_SCORE}).")
        elif n:
            low, high = question_bounds(question, options)
            top = n * question.max_score
            if not 0 <= low <= high <= top:
                problems.append(
                    f"{where}: total scores must satisfy 0 ≤ minimum ≤ maximum ≤ {top} "
                    "(options × maximum score)."
                )
            elif high == 0:
                problems.append(f"{where}: the maximum total score is at least 1.")
            elif high - low + 1 > MAX_SET_SIZE and (low, high) != (0, top):
                problems.append(
                    f"{where}: maximum − minimum total score must be below {MAX_SET_SIZE}."
                )
    elif question.max_score is not None:
        problems.append(f"{where}: only score questions have a maximum score.")
    if kind in (QuestionKind.APPROVAL, QuestionKind.BUDGET) and n:
        low, high = question_bounds(question, options)
        if not 0 <= low <= high <= n:
            problems.append(f"{where}: selections must satisfy 0 ≤ minimum ≤ maximum ≤ {n}.")
        elif high == 0:
            problems.append(f"{where}: the maximum number of selections is at least 1.")
        elif high - low + 1 > MAX_SET_SIZE:
            problems.append(f"{where}: maximum − minimum must be below {MAX_SET_SIZE}.")
    if not problems:
        try:
            question_spec(question, options)
        except InvalidEncoding as exc:  # pragma: no cover - the checks above cover the core's
            problems.append(f"{where}: {exc}")
    return problems


def question_spec(question: Question, options: Sequence[Option]) -> QuestionSpec:
    low, high = question_bounds(question, options)
    if question.kind == QuestionKind.BUDGET:
        return QuestionSpec(
            len(options), low, high, tuple(o.cost for o in options), question.budget
        )
    return QuestionSpec(len(options), low, high, max_score=question_max_score(question))


def election_questions(election: Election) -> list[tuple[Question, list[Option]]]:
    questions = list(election.questions.prefetch_related("options"))
    return [(q, list(q.options.all())) for q in questions]


def election_question_problems(*, election: Election) -> list[str]:
    questions = election_questions(election)
    if not questions:
        return ["The election has no question."]
    problems = []
    if len(questions) > MAX_QUESTIONS:
        problems.append(f"An election has at most {MAX_QUESTIONS} questions.")
    for question, options in questions:
        problems.extend(question_problems(question, options))
    return problems


def questions_json(election: Election) -> list[dict]:
    """The election's questions in the manifest's shape (docs/protocol.md §10), from its rows:
    ids by position, selection bounds, and budget and costs for budget questions only (null
    otherwise; ``max_score`` for score questions only). The manifest, the election API and the
    public pages all show this."""
    questions = []
    for qi, (question, options) in enumerate(election_questions(election)):
        low, high = question_bounds(question, options)
        budget = question.kind == QuestionKind.BUDGET
        item = {
            "id": question_id(qi),
            "kind": question.kind,
            "title": question.title,
            "description": question.description,
            "options": [
                {
                    "id": option_id(qi, oi),
                    "title": option.title,
                    "description": option.description,
                    "cost": option.cost if budget else None,
                }
                for oi, option in enumerate(options)
            ],
            "min": low,
            "max": high,
            "budget": question.budget if budget else None,
        }
        if question.kind == QuestionKind.SCORE:  # protocol §10: score questions only
            item["max_score"] = question.max_score
        if question.mixed:  # §15.10: absent unless true, so unmixed manifests are unchanged
            item["mixed"] = True
        questions.append(item)
    return questions


def manifest_build(*, election: Election) -> dict:
    """The manifest JSON of ``election`` (which has its key and its credentials)."""
    questions = questions_json(election)
    data = {
        "version": PROTOCOL_VERSION,
        "election": {
            "uuid": str(election.pk),
            "slug": election.slug,
            "title": election.title,
            "description": election.description,
            "opens_at": manifest_timestamp(election.opens_at),
            "closes_at": manifest_timestamp(election.closes_at),
        },
        "questions": questions,
        "trustees": election.trustees,
        "threshold": election.threshold,
        "ceremony": election.ceremony_context,
        "public_key": election.public_key,
        "verification_keys": election.verification_keys,
        "credentials": {
            "count": election.credentials_count,
            "digest": election.credentials_digest,
            "total_weight": election.credentials_total_weight,
        },
    }
    witnesses = list(election.witnesses.order_by("position", "id"))
    if witnesses:  # protocol §10, §14.4: only elections with witnesses carry the field
        data["witnesses"] = {
            "quorum": election.witness_quorum,
            "list": [{"name": w.name, "key": w.key, "url": w.url} for w in witnesses],
        }
    return data


# --- Request size limits -----------------------------------------------------------------------
# Sizes of the canonical JSON encodings (crypto/ballot.py), rounded up: a ciphertext is two
# points (130 hex digits each) with its keys; a disjunctive proof has per branch a pair of points
# and two scalars (64 hex digits); a scalar of revealed randomness is 64 hex digits.
_CIPHERTEXT = 300
_BRANCH = 420
_PROOF_OVERHEAD = 100
_BALLOT_OVERHEAD = 1024  # version, fingerprint, credential, signature
_QUESTION_OVERHEAD = 128
_SCALAR = 70


def ballot_size_estimate(questions: Sequence[QuestionSpec]) -> int:
    """An upper bound on the canonical JSON size of a ballot for these questions."""
    total = _BALLOT_OVERHEAD
    for spec in questions:
        per_bit = _CIPHERTEXT + 2 * _BRANCH + _PROOF_OVERHEAD
        per_choice = _CIPHERTEXT + len(spec.choice_values) * _BRANCH + _PROOF_OVERHEAD
        total += _QUESTION_OVERHEAD + spec.encrypted_options * per_choice
        if spec.sum_values is not None:
            total += len(spec.sum_values) * _BRANCH + _PROOF_OVERHEAD
        total += spec.budget_bits * per_bit
    return total


def randomness_size_estimate(questions: Sequence[QuestionSpec]) -> int:
    """An upper bound on the JSON size of a ballot's revealed randomness (BallotSecrets)."""
    return 256 + sum(
        64 + (spec.encrypted_options + spec.budget_bits) * _SCALAR for spec in questions
    )


def request_limit(estimate: int) -> int:
    """Room for a client that does not send canonical JSON (spaces, newlines, indentation)."""
    return 2 * estimate + 8192
