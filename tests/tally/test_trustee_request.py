"""What a trustee's worker accepts from the server: the election, the trustee, a step hint — and
where it reads the board from."""

from __future__ import annotations

import pytest

from tally.trustee_worker import TaskRefused, board_location, local_board, task_request

E = "6f1c0e4e-3a55-4c1e-9f0b-0d7f3c1e2a10"


def test_a_request_names_the_election_the_trustee_and_a_step_only() -> None:
    assert task_request((), {"election": E, "trustee": 2, "step": "decrypt"}) == (E, 2, "decrypt")
    assert task_request((), {"election": E, "trustee": 64}) == (E, 64, None)


@pytest.mark.parametrize(
    ("args", "kwargs", "why"),
    [
        (("decrypt", {}, 2, {}), {}, "4 positional argument(s)"),
        ((), {"election": E, "trustee": 2, "step": "decrypt", "ciphertexts": []}, "'ciphertexts'"),
        ((), {"step": "deal", "params": {}, "index": 2, "inputs": {}}, "'index', 'inputs'"),
        ((), {"election": E, "trustee": 2, "fingerprint": "f"}, "'fingerprint'"),
        ((), {"election": E.upper(), "trustee": 2}, "no election"),
        ((), {"election": E + "x", "trustee": 2}, "no election"),
        ((), {"election": E, "trustee": True}, "no trustee"),
        ((), {"election": E, "trustee": 0}, "no trustee"),
        ((), {"election": E, "trustee": 65}, "no trustee"),
        ((), {"election": E, "trustee": "2"}, "no trustee"),
        ((), {"election": E, "trustee": 2, "step": "sign"}, "unknown step"),
    ],
)
def test_anything_else_is_refused(args, kwargs, why) -> None:
    with pytest.raises(TaskRefused) as refused:
        task_request(args, kwargs)
    assert why in str(refused.value)


def test_where_the_worker_reads_the_board(tmp_path) -> None:
    url = f"https://vote.example.org/api/elections/{E}/board.jsonl"
    assert board_location(E, {"PNYX_TRUSTEE_BOARD": "https://vote.example.org/"}) == url
    assert board_location(E, {"PNYX_BASE_URL": "https://vote.example.org"}) == url
    assert board_location(E, {}) == f"http://127.0.0.1:8000/api/elections/{E}/board.jsonl"
    templated = {"PNYX_TRUSTEE_BOARD": "https://mirror.example.org/{election}.jsonl"}
    assert board_location(E, templated) == f"https://mirror.example.org/{E}.jsonl"
    exported = {"PNYX_TRUSTEE_BOARD": str(tmp_path / "{election}.jsonl")}
    assert board_location(E, exported) == str(tmp_path / f"{E}.jsonl")
    assert local_board(tmp_path / "trustee-2.json") == tmp_path / "trustee-2.board.jsonl"
