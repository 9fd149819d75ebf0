"""The page scripts' translations (voting/js_messages.py): every message a script uses is in the
catalogue, every error code the API can return has a plain sentence, and every language offered
(French, Spanish, …) has them all."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from config import api_errors
from config.api_errors import ApplicationError
from voting.js_messages import ERRORS, MESSAGES, js_catalogue

UI = Path(settings.BASE_DIR) / "frontend" / "src" / "ui"
# t('…') or t("…"), possibly across lines (the scripts use single quotes)
T_CALL = re.compile(r"\bt\(\s*'((?:[^'\\]|\\.)*)'|\bt\(\s*\"((?:[^\"\\]|\\.)*)\"")


def script_messages() -> set[str]:
    found = set()
    for path in sorted(UI.glob("*.mjs")):
        for single, double in T_CALL.findall(path.read_text(encoding="utf-8")):
            found.add((single or double).replace("\\'", "'"))
    return found


def api_error_codes() -> set[str]:
    """Every code config/api_errors.py and the apps' errors modules can put in a response."""
    for app in ("board", "identity", "voting", "tally"):
        try:
            importlib.import_module(f"{app}.errors")
        except ModuleNotFoundError:
            continue
    codes = set()
    pending = [ApplicationError]
    while pending:
        cls = pending.pop()
        if cls.__module__.split(".")[0] in ("config", "board", "identity", "voting", "tally"):
            codes.add(cls.code)  # (tests define their own subclasses too)
        pending.extend(cls.__subclasses__())
    codes |= {code for code, _ in api_errors._API_EXCEPTION_CODES.values()}
    source = Path(api_errors.__file__).read_text(encoding="utf-8")
    codes |= set(re.findall(r'code="([a-z_]+)"', source))
    return codes


def test_every_message_of_the_scripts_is_in_the_catalogue() -> None:
    used = script_messages()
    assert len(used) > 30  # the pattern found the calls
    assert used - set(MESSAGES) == set(), "add these to voting/js_messages.py MESSAGES"
    assert set(MESSAGES) - used == set(), "no script uses these any more"


def test_every_api_error_code_has_a_sentence() -> None:
    codes = api_error_codes()
    assert {"unknown_credential", "invalid_login_code", "not_authenticated", "not_found"} <= codes
    missing = codes - set(ERRORS)
    assert missing == set(), f"add sentences for {sorted(missing)} to voting/js_messages.py"
    for code, sentence in ERRORS.items():
        assert code not in sentence  # a sentence, never the code


@pytest.mark.parametrize("language", [code for code, _ in settings.LANGUAGES])
def test_the_catalogue_is_json_in_the_language(language) -> None:
    with translation.override(language):
        catalogue = json.loads(js_catalogue())
    assert set(catalogue["errors"]) == set(ERRORS)
    if language == "en":
        assert catalogue["messages"] == {}  # the scripts' own English text is used
        assert catalogue["errors"] == ERRORS
        return
    untranslated = [m for m in MESSAGES if m not in catalogue["messages"]]
    untranslated += [ERRORS[c] for c, v in catalogue["errors"].items() if v == ERRORS[c]]
    assert untranslated == [], f"translate these in locale/{language}/LC_MESSAGES/django.po"
    # placeholders survive translation
    for message, translated in catalogue["messages"].items():
        assert sorted(re.findall(r"%\(\w+\)s", message)) == sorted(
            re.findall(r"%\(\w+\)s", translated)
        ), message
