"""The OpenAPI document (/api/schema/) describes every operation with its own components."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def test_spectacular_validates_without_a_warning(tmp_path: Path) -> None:
    """``manage.py spectacular --validate --fail-on-warn``: no component name collision, every
    authentication class documented, the document valid OpenAPI 3."""
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert target.stat().st_size > 10_000


@pytest.fixture
def schema(client: Client) -> dict:
    return client.get("/api/schema/?format=json").json()


def _ref(schema: dict, ref_holder: dict) -> dict:
    name = ref_holder["$ref"].rsplit("/", 1)[1]
    return schema["components"]["schemas"][name]


def _operations(schema: dict) -> dict[str, dict]:
    return {
        op["operationId"]: op
        for item in schema["paths"].values()
        for method, op in item.items()
        if method in ("get", "post")
    }


def test_each_operation_documents_its_own_bodies(schema: dict) -> None:
    """Before, inner classes named InputSerializer/OutputSerializer shared one component each:
    e.g. login/verify was documented without its ``code``, board_key as an election list."""
    ops = _operations(schema)

    def request_fields(op_id: str) -> set[str]:
        body = ops[op_id]["requestBody"]["content"]["application/json"]["schema"]
        return set(_ref(schema, body)["properties"])

    def response_fields(op_id: str, status: str) -> set[str]:
        body = ops[op_id]["responses"][status]["content"]["application/json"]["schema"]
        body = body.get("items", body)
        return set(_ref(schema, body)["properties"])

    assert request_fields("voter_login_request") == {"identifier", "email"}
    assert request_fields("voter_login_verify") == {"identifier", "email", "code"}
    assert "signature" in request_fields("receipts_verify")
    assert "randomness" in request_fields("ballots_audit")
    assert {"kind", "token", "message"} <= request_fields("trustee_message")
    assert "slug" in response_fields("elections_list", "200")
    assert "questions" in response_fields("elections_retrieve", "200")
    assert response_fields("board_key", "200") == {
        "algorithm",
        "public_key",
        "receipt_domain",
        "receipt_fields",
    }
    assert response_fields("board_head", "200") >= {"seq", "hash", "count", "kinds"}
    assert response_fields("board_list", "200") == {"results", "next"}
    assert response_fields("board_ballot", "200") == {"entry", "superseded_by"}
    assert response_fields("receipts_verify", "200") == {
        "signature_valid",
        "on_board",
        "superseded_by",
    }
    assert response_fields("ballots_audit", "201") == {"receipt", "plaintexts"}
    assert "phase" in response_fields("ceremony_status", "200")
    assert "status" in response_fields("tally_status", "200")
    assert response_fields("voter_login_request", "202") == {"detail"}
    # Every component is used by one serializer class: distinct operations, distinct names.
    outputs = [
        ops[op]["responses"]["200"]["content"]["application/json"]["schema"]
        for op in ("elections_list", "board_key", "board_head", "board_list", "tally_status")
    ]
    names = [o.get("items", o)["$ref"] for o in outputs]
    assert len(set(names)) == len(names)


def test_voter_operations_name_their_security(schema: dict) -> None:
    ops = _operations(schema)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["voterSession"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionid",
        "description": schemes["voterSession"]["description"],
    }
    assert schemes["csrfToken"]["in"] == "header"
    assert ops["ballots_cast"]["security"] == [{"voterSession": [], "csrfToken": []}]
    assert ops["voter_me"]["security"] == [{"voterSession": []}, {}]
    assert ops["voter_login_verify"]["security"] == [{"csrfToken": []}, {}]
    assert ops["board_head"].get("security", [{}]) == [{}]
