"""E-mails that carry a secret: voters' credentials and login codes, trustees' enrolment tokens.

Such an e-mail must leave this machine at once. The ``file``, ``console`` and ``locmem`` backends
keep it here — in ``var/mail/``, in the logs, in memory — where whoever runs the server, a backup
or a log collector reads it, and can then vote as the voter or register as the trustee. Only an
instance that says it is a demo (``PNYX_DEMO=1``, which ``make run`` sets) or the test suite
(``PNYX_TEST_SUITE``, which only tests/conftest.py sets: no environment variable can) may use
them. The system check ``pnyx.E001`` (config/checks.py) refuses such a configuration when a
command starts; :func:`secret_email_connection` refuses again when sending, for the processes
that never run the checks (Celery workers, gunicorn).
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.utils.module_loading import import_string
from rest_framework import status

from config.api_errors import ApplicationError

#: backends that keep the messages on this machine (subclasses too: file is a console subclass)
LOCAL_BACKENDS = (ConsoleBackend, FileBackend, LocmemBackend)


class LocalEmailRefused(ApplicationError):
    code = "email_backend_local"
    status = status.HTTP_503_SERVICE_UNAVAILABLE
    message = "E-mails with secrets cannot be sent: the e-mail backend keeps them on this server."


def email_backend_is_local(backend: str) -> bool:
    """Whether the backend at dotted path ``backend`` keeps messages on this machine."""
    try:
        cls = import_string(backend)
    except ImportError:
        return False  # Django reports an unknown backend itself, when it is used
    return isinstance(cls, type) and issubclass(cls, LOCAL_BACKENDS)


def secret_email_problem() -> str | None:
    """Why this instance must not send secrets by e-mail, or ``None``."""
    backend = settings.EMAIL_BACKEND
    if not email_backend_is_local(backend):
        return None
    if settings.PNYX_DEMO or settings.PNYX_TEST_SUITE:
        return None
    return (
        f"EMAIL_BACKEND is {backend}, which keeps voters' credentials, login codes and trustees' "
        "enrolment tokens on this server instead of delivering them. Set EMAIL_BACKEND=smtp "
        "and EMAIL_HOST (README, Configuration), or PNYX_DEMO=1 if this instance is a demo."
    )


def secret_email_connection(**kwargs) -> BaseEmailBackend:
    """The connection for an e-mail that carries a secret; raises :class:`LocalEmailRefused`
    when the backend would keep it on this machine outside a demo or the test suite."""
    problem = secret_email_problem()
    if problem is not None:
        raise LocalEmailRefused(problem)
    return get_connection(**kwargs)
