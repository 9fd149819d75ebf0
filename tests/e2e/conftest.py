"""Browser tests: Playwright for Python driving Debian's Chromium (tests/conftest.py points the
``browser`` fixture at it) against pytest-django's live server, PostgreSQL, and a real Celery
worker where the journey needs one (login codes are e-mailed by a task).

``tour(name)`` opens a browser context and page and returns a :class:`Tour`, whose ``check(step)``
does what every step of every test does: a screenshot under test-artifacts/screenshots/, an
axe-core audit (WCAG 2.0/2.1 A and AA) that must find nothing, and no Content-Security-Policy
violation or script error so far.

axe-core is injected as a *same-origin* script: a Playwright route answers
``/__axe__/axe.min.js`` with frontend/node_modules/axe-core/axe.min.js, so the app's strict CSP
(script-src 'self') admits it and stays enforced on every page we audit — no ``bypass_csp``
context is needed, and the audit sees the pages exactly as voters get them.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from identity.sessions import SESSION_KEY
from tests.e2e.elections import trustee_election_factory  # noqa: F401
from tests.voting.factories import open_election, open_election_factory  # noqa: F401

ROOT = Path(settings.BASE_DIR)
AXE_FILE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL_PATH = "/__axe__/axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1024, "height": 900}

RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""

AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
  }));
}"""


@pytest.fixture(scope="session")
def screenshot_dir(pytestconfig: pytest.Config) -> Path:
    path = Path(pytestconfig.getoption("--output")) / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Tour:
    """One browser page walked through a test, step by step."""

    page: object
    base_url: str
    shots: Path
    name: str
    axe: bool = True
    step_number: int = 0
    errors: list[str] = field(default_factory=list)
    audited: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def goto(self, path: str) -> None:
        self.page.goto(self.url(path))

    def screenshot(self, step: str, *, full_page: bool = True) -> Path:
        self.step_number += 1
        slug = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.shots / f"{self.name}-{self.step_number:02d}-{slug}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def violations(self) -> list[dict]:
        if not self.page.evaluate("typeof window.axe === 'object'"):
            self.page.add_script_tag(url=self.url(AXE_URL_PATH))
        return self.page.evaluate(AXE_RUN, WCAG_TAGS)

    def check(self, step: str, *, full_page: bool = True) -> None:
        """Screenshot, then: no axe violation, no CSP violation, no script error."""
        self.screenshot(step, full_page=full_page)
        if self.axe:
            found = self.violations()
            assert found == [], f"{step}: axe found\n" + json.dumps(found, indent=2)
            self.audited.append(step)
        assert self.page.evaluate("window.__cspViolations") == [], step
        assert self.errors == [], f"{step}: {self.errors}"

    def text(self, selector: str) -> str:
        return self.page.locator(selector).inner_text()

    def wait_step(self, step: str, timeout: float = 20_000) -> None:
        """Wait until the booth shows this step (its section is the visible one)."""
        self.page.locator(f"#step-{step}").wait_for(state="visible", timeout=timeout)


BUILT = [ROOT / "static" / "booth" / f"{name}.js" for name in ("booth-page", "booth-worker")]


@pytest.fixture(scope="session")
def frontend_built() -> None:
    """The page bundles and axe-core come from ``make js`` (which ``make test`` runs first)."""
    missing = [str(p.relative_to(ROOT)) for p in [*BUILT, AXE_FILE] if not p.exists()]
    if not missing:
        return
    message = f"{', '.join(missing)} missing: run `make js`"
    if os.environ.get("PNYX_REQUIRE_SERVICES") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def tour(browser, live_server, screenshot_dir, frontend_built) -> Iterator:
    """``tour(name, viewport=DESKTOP, **context_options) -> Tour``; contexts close at the end."""
    contexts = []

    def open_tour(name: str, *, viewport: dict = DESKTOP, **options) -> Tour:
        context = browser.new_context(viewport=viewport, accept_downloads=True, **options)
        context.route(
            f"**{AXE_URL_PATH}",
            lambda route: route.fulfill(path=str(AXE_FILE), content_type="text/javascript"),
        )
        context.add_init_script(RECORD_CSP_VIOLATIONS)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        visit = Tour(page=page, base_url=live_server.url, shots=screenshot_dir, name=name)

        def console(message) -> None:
            # 4xx answers the booth expects (a wrong code, a refused ballot) are logged by
            # Chromium as "Failed to load resource"; the tests check what the page says instead.
            if message.type == "error" and "Failed to load resource" not in message.text:
                visit.errors.append(message.text)

        page.on("console", console)
        page.on("pageerror", lambda exc: visit.errors.append(str(exc)))
        return visit

    yield open_tour
    for context in contexts:
        context.close()


def login_code(email: str, *, timeout: float = 20.0) -> str:
    """The one-time code the Celery worker e-mailed to ``email`` (locmem outbox)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in reversed(mail.outbox):
            if email in message.to:
                match = re.search(r"^\s+(\d{8})\s*$", message.body, re.M)
                if match:
                    return match.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no login code was e-mailed to {email} within {timeout} s")


def voter_session_cookie(context, base_url: str, voter) -> None:
    """Log the browser context in as ``voter`` (what a successful login leaves behind), for tests
    whose subject is not the login itself."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = {str(voter.election_id): voter.pk}
    store.save()
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": store.session_key, "url": base_url}]
    )


def admin_session_cookie(context, base_url: str, user) -> None:
    """Log the browser context in to the admin as ``user`` (an official)."""
    client = Client()
    client.force_login(user)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base_url,
            }
        ]
    )


def results_shown(page) -> list[list[int]]:
    """The per-option vote counts of every question on the results page (blank rows left out)."""
    return [
        [
            int(n)
            for n in section.locator("tbody tr:not(.blank) td.num:nth-of-type(1)").all_inner_texts()
        ]
        for section in page.locator(".result-question").all()
    ]


def funded_shown(page) -> list[str]:
    """The titles of the options the results page marks funded."""
    return page.locator(".result-question tr.funded th").all_inner_texts()
