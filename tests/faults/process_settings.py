"""Settings of the server processes the fault tests start (gunicorn, Celery workers): the
project's settings, plus what the test suite's own process gets from tests/conftest.py — static
files served without ``collectstatic`` (the 503 page links its style sheet), and e-mails kept on
this machine (written as files under ``PNYX_TEST_MAIL_DIR``, where the test reads the login
codes). Nothing else differs from production."""

from __future__ import annotations

import os

from config.settings import *  # noqa: F403
from config.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PNYX_TEST_SUITE = True
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ.get("PNYX_TEST_MAIL_DIR") or "/nonexistent"
