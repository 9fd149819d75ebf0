"""Pages render in a real Chromium under the strict Content-Security-Policy."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


@pytest.fixture
def watched_page(page):
    """A page that records CSP violations and console errors."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.errors = errors
    return page


def test_home_page(watched_page, live_server) -> None:
    page = watched_page
    page.goto(f"{live_server.url}/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Elections"
    # The stylesheet loaded and applied (the skip link is moved off-screen).
    assert page.locator(".skip-link").evaluate("e => getComputedStyle(e).position") == "absolute"
    assert page.evaluate("window.__cspViolations") == []
    assert page.errors == []


def test_language_switch(watched_page, live_server) -> None:
    page = watched_page
    page.goto(f"{live_server.url}/")
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Change").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", level=1).inner_text() == "Élections"
    page.get_by_label("Langue").select_option(label="Español")
    page.get_by_role("button", name="Changer").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", level=1).inner_text() == "Elecciones"
    assert page.get_by_label("Idioma").input_value() == "es"


def test_api_docs_render_without_inline_code(watched_page, live_server) -> None:
    page = watched_page
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for(timeout=15_000)
    assert "Pnyx API" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.evaluate("window.__cspViolations") == []
    assert page.errors == []
