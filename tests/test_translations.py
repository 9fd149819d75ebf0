"""Every language Pnyx offers is complete, and adding one is only a translation file.

``make messages`` extracts the strings of the sources into each ``locale/<code>/LC_MESSAGES/django.po``;
here the same extraction runs on a copy of the sources (the working tree is never written), so a
string added to a template or a module without a translation in every language fails, as does a
catalogue that was not compiled again (``django.mo``)."""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.languages import language_or_default, languages_from_locale

BASE = Path(settings.BASE_DIR)
LOCALE = BASE / "locale"
TRANSLATIONS = sorted(po.parent.parent.name for po in LOCALE.glob("*/LC_MESSAGES/django.po"))
#: what a copy of the sources leaves out: nothing makemessages reads
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv*", "node_modules", "var", "test-artifacts", "tests", "bench", "docs",
    "__pycache__", ".*_cache", ".hypothesis", "*.mo",
)  # fmt: skip


def catalogue(po_path: Path) -> polib.POFile:
    return polib.pofile(str(po_path))


def missing(po: polib.POFile) -> list[str]:
    """The strings of a catalogue without a usable translation (empty, or fuzzy)."""
    return [e.msgid for e in po if not e.obsolete and (not e.translated() or e.fuzzy)]


def makemessages_arguments() -> list[str]:
    """The ``makemessages`` options of ``make messages``, read from the Makefile (one list)."""
    recipe = (BASE / "Makefile").read_text(encoding="utf-8").split("\nmessages:", 1)[1]
    recipe = recipe.split("compilemessages", 1)[0].replace("\\\n", " ")
    arguments = re.search(r"manage\.py makemessages (.*)", recipe).group(1)
    return [token.strip("'\"") for token in arguments.split()]


def test_settings_offer_english_and_every_translation_in_its_own_name() -> None:
    assert settings.LANGUAGES[0] == ("en", "English")
    assert ("fr", "Français") in settings.LANGUAGES
    assert ("es", "Español") in settings.LANGUAGES
    assert sorted(code for code, _ in settings.LANGUAGES[1:]) == TRANSLATIONS


def test_a_new_locale_folder_is_a_new_language(tmp_path) -> None:
    for folder in ("es", "pt_BR", "de"):
        (tmp_path / folder / "LC_MESSAGES").mkdir(parents=True)
        (tmp_path / folder / "LC_MESSAGES" / "django.po").write_text("", encoding="utf-8")
    (tmp_path / "it" / "LC_MESSAGES").mkdir(parents=True)  # no catalogue: not offered
    assert languages_from_locale(tmp_path) == [
        ("en", "English"),
        ("de", "Deutsch"),
        ("es", "Español"),
        ("pt-br", "Português Brasileiro"),
    ]
    (tmp_path / "xx" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "xx" / "LC_MESSAGES" / "django.po").write_text("", encoding="utf-8")
    with pytest.raises(ImproperlyConfigured, match="locale/xx/"):
        languages_from_locale(tmp_path)


def test_a_language_from_outside_falls_back_to_the_default() -> None:
    assert language_or_default("es") == "es"
    for outside in ("xx", "", None, "es/../fr", "ES"):
        assert language_or_default(outside) == settings.LANGUAGE_CODE


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_every_string_is_translated_as_in_french(language) -> None:
    """Every language translates the same strings, all of them; placeholders are kept."""
    french = catalogue(LOCALE / "fr" / "LC_MESSAGES" / "django.po")
    po = catalogue(LOCALE / language / "LC_MESSAGES" / "django.po")
    assert missing(po) == [], f"translate these in locale/{language}/LC_MESSAGES/django.po"
    translated_in_french = {(e.msgctxt, e.msgid) for e in french.translated_entries()}
    ours = {(e.msgctxt, e.msgid) for e in po.translated_entries() if not e.fuzzy}
    assert translated_in_french - ours == set()
    placeholder = re.compile(r"%\(\w+\)[sd]|%%|\{\w*\}")
    for entry in po.translated_entries():
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        wanted = sorted(placeholder.findall(entry.msgid_plural or entry.msgid))
        for text in translations:
            found = sorted(placeholder.findall(text))
            # a singular may say "1" instead of its count ("%(n)s problem" → "un problème")
            assert found == wanted or (entry.msgid_plural and set(found) <= set(wanted)), (
                entry.msgid
            )


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_the_compiled_catalogue_is_the_current_one(language) -> None:
    folder = LOCALE / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as compiled:
        mo = gettext.GNUTranslations(compiled)
    for entry in catalogue(folder / "django.po").translated_entries():
        context = entry.msgctxt
        if entry.msgid_plural:
            compiled = (
                mo.npgettext(context, entry.msgid, entry.msgid_plural, 2)
                if context
                else mo.ngettext(entry.msgid, entry.msgid_plural, 2)
            )
            assert compiled == entry.msgstr_plural[1], "run make messages"
        else:
            compiled = mo.pgettext(context, entry.msgid) if context else mo.gettext(entry.msgid)
            assert compiled == entry.msgstr, "run make messages"


@pytest.mark.slow
def test_no_string_of_the_sources_lacks_a_translation(tmp_path) -> None:
    """``make messages`` on a copy of the sources: every language must translate every string it
    finds (a new ``{% translate %}`` or ``gettext`` without its translations fails here)."""
    copy = tmp_path / "pnyx"
    shutil.copytree(BASE, copy, ignore=NOT_SOURCES, symlinks=True)
    env = {**os.environ, "PNYX_VAR_DIR": str(tmp_path / "var"), "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", *makemessages_arguments()],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    for language in TRANSLATIONS:
        po = catalogue(copy / "locale" / language / "LC_MESSAGES" / "django.po")
        assert len(po) > 600  # the extraction found the strings
        assert missing(po) == [], f"locale/{language}: translate these, then run make messages"
