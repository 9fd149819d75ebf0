"""Server-rendered pages: language, security headers."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_home_page_in_english(client) -> None:
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "There are no elections yet." in html


@pytest.mark.django_db
def test_home_page_in_french(client) -> None:
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="fr")
    html = response.content.decode()
    assert '<html lang="fr">' in html
    assert "Il n’y a pas encore d’élection." in html


@pytest.mark.django_db
def test_home_page_in_spanish(client) -> None:
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9")
    html = response.content.decode()
    assert '<html lang="es">' in html
    assert "Aún no hay elecciones." in html
    assert "Ir al contenido principal" in html


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["fr", "es"])
def test_language_can_be_chosen(client, language) -> None:
    response = client.post("/i18n/setlang/", {"language": language, "next": "/"}, follow=True)
    assert f'<html lang="{language}">' in response.content.decode()


@pytest.mark.django_db
def test_the_selector_offers_each_language_in_its_own_name(client) -> None:
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for code, name in (("en", "English"), ("fr", "Français"), ("es", "Español")):
        assert f'<option value="{code}" lang="{code}"' in html
        assert f">{name}</option>" in html


@pytest.mark.django_db
def test_pages_carry_security_headers(client) -> None:
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_pages_have_no_inline_scripts_or_styles(client) -> None:
    html = client.get("/").content.decode()
    assert "<script" not in html
    assert "<style" not in html and " style=" not in html
