"""The languages Pnyx offers: English (the source text) and every translation in ``locale/``.

Adding a language is adding ``locale/<code>/LC_MESSAGES/django.po`` (README, "Adding a language"):
settings build ``LANGUAGES`` from the folders present, each named in its own language.
"""

from __future__ import annotations

from pathlib import Path

from django.conf.locale import LANG_INFO
from django.core.exceptions import ImproperlyConfigured

SOURCE_LANGUAGE = "en"


def language_name(code: str) -> str:
    """The language's own name, capitalised as in a menu (``Español``, ``Français``)."""
    info = LANG_INFO.get(code)
    if info is None or "name_local" not in info:
        raise ImproperlyConfigured(
            f"locale/{code}/: Django knows no language {code!r}; name the folder with a "
            "language code such as 'es', 'pt-br' or 'de' (django/conf/locale/__init__.py)"
        )
    name = info["name_local"]
    return name[:1].upper() + name[1:]


def languages_from_locale(locale_dir: Path) -> list[tuple[str, str]]:
    """``LANGUAGES``: English first, then each ``<locale_dir>/<code>/LC_MESSAGES/django.po`` by code.

    Folder names are gettext locale names (``pt_BR``); Django's language codes are lower case with
    a hyphen (``pt-br``)."""
    codes = sorted(
        po.parent.parent.name.replace("_", "-").lower()
        for po in locale_dir.glob("*/LC_MESSAGES/django.po")
    )
    return [(SOURCE_LANGUAGE, language_name(SOURCE_LANGUAGE))] + [
        (code, language_name(code)) for code in codes if code != SOURCE_LANGUAGE
    ]


def language_or_default(code: str | None) -> str:
    """``code`` when Pnyx offers it, else the default language: a task's language argument comes
    from a queue and is never trusted further."""
    from django.conf import settings

    offered = {known for known, _ in settings.LANGUAGES}
    return code if code in offered else settings.LANGUAGE_CODE
