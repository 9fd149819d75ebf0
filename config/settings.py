"""Django settings for Pnyx, read from the environment.

The README lists every variable. Defaults give a working single-machine set-up:
SQLite under ``var/`` and Redis on localhost.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from config.env import (
    board_signing_seed_load,
    env_bool,
    env_int,
    env_list,
    secret_key_load_or_create,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PNYX_VAR_DIR") or BASE_DIR / "var").resolve()
VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)

DEBUG = env_bool("PNYX_DEBUG")
HTTPS = env_bool("PNYX_HTTPS")

SECRET_KEY = os.environ.get("SECRET_KEY") or secret_key_load_or_create(path=VAR_DIR / "secret_key")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "identity",
    "voting",
    "tally",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'pnyx.sqlite3'}",
        conn_max_age=env_int("PNYX_DB_CONN_MAX_AGE", default=60),
        conn_health_checks=True,
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has one writer at a time. BEGIN IMMEDIATE takes the write lock at the
    # start of every transaction, so concurrent bulletin-board appends queue up
    # (for up to `timeout` seconds) instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Passwords, i18n --------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static files -----------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names + a manifest let browsers cache the booth code for ever and
    # still pick up a new release. Needs `collectstatic`, which `make run` does.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security ---------------------------------------------------------------

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_ENGINE = "config.sessions"  # database sessions, read in plain SQL (hot path)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Behind TLS (PNYX_HTTPS=1) cookies never travel in clear. TLS is terminated
# by the reverse proxy, which is also where HTTP is redirected to HTTPS.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS and not DEBUG
SECURE_HSTS_SECONDS = env_int("PNYX_HSTS_SECONDS", default=0) if HTTPS else 0

# Sent on every response by config.middleware.ContentSecurityPolicyMiddleware.
# No 'unsafe-inline' and no 'unsafe-eval': pages load scripts and styles from
# files under /static/ only.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# --- API --------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    # Deny by default: every view states who may call it.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Pnyx API",
    "DESCRIPTION": "End-to-end verifiable voting: elections, ballots, bulletin board, tally.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets come from drf-spectacular-sidecar, served as our own
    # static files: no CDN, and the strict CSP above still holds.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- E-mail -----------------------------------------------------------------
# Voters receive their credential and their login codes by e-mail. Without
# configuration, messages are written as files under var/mail/ (development);
# production sets EMAIL_BACKEND=smtp and the EMAIL_HOST* variables.

_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}
_email_backend = os.environ.get("EMAIL_BACKEND") or "file"
EMAIL_BACKEND = _EMAIL_BACKENDS.get(_email_backend, _email_backend)
EMAIL_FILE_PATH = Path(os.environ.get("EMAIL_FILE_PATH") or VAR_DIR / "mail")
EMAIL_HOST = os.environ.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL") or "Pnyx <noreply@localhost>"

# --- Voting -----------------------------------------------------------------

# Public origin of the site, for the links in e-mails (the voting booth).
PNYX_BASE_URL = (os.environ.get("PNYX_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")

# The bulletin board signs receipts with this Ed25519 key; its public key is on
# every board (genesis entry) and at /api/board-key. 64 hex digits or base64 of
# a 32-byte seed; when unset, generated once into var/board_signing_key (0600).
BOARD_SIGNING_KEY = board_signing_seed_load(
    value=os.environ.get("PNYX_BOARD_SIGNING_KEY"), path=VAR_DIR / "board_signing_key"
)

# Largest request body the casting endpoint reads, whatever the election
# (each election also has its own, smaller limit computed from its questions).
PNYX_BALLOT_MAX_BYTES = env_int("PNYX_BALLOT_MAX_BYTES", default=2 * 1024 * 1024)

# Credentials are e-mailed in batches of this many messages per connection.
PNYX_CREDENTIAL_EMAIL_BATCH = env_int("PNYX_CREDENTIAL_EMAIL_BATCH", default=200)

# Voter login by one-time code sent by e-mail.
PNYX_LOGIN_CODE_TTL_SECONDS = env_int("PNYX_LOGIN_CODE_TTL_SECONDS", default=15 * 60)
PNYX_LOGIN_CODE_MAX_ATTEMPTS = env_int("PNYX_LOGIN_CODE_MAX_ATTEMPTS", default=5)
PNYX_LOGIN_CODES_PER_VOTER_PER_HOUR = env_int("PNYX_LOGIN_CODES_PER_VOTER_PER_HOUR", default=5)
PNYX_LOGIN_REQUESTS_PER_IP_PER_HOUR = env_int("PNYX_LOGIN_REQUESTS_PER_IP_PER_HOUR", default=60)
PNYX_LOGIN_VERIFY_PER_IP_PER_HOUR = env_int("PNYX_LOGIN_VERIFY_PER_IP_PER_HOUR", default=120)
PNYX_VOTER_SESSION_SECONDS = env_int("PNYX_VOTER_SESSION_SECONDS", default=4 * 3600)
# Benaloh audits a voter may post per election (each one is a board entry).
PNYX_AUDITS_PER_VOTER = env_int("PNYX_AUDITS_PER_VOTER", default=20)
# Tally: ballots added up per Celery task (the aggregation is a chord of such chunks, spread
# over every worker that consumes the "tally" queue).
PNYX_TALLY_CHUNK_BALLOTS = env_int("PNYX_TALLY_CHUNK_BALLOTS", default=5000)
# Healing without a human (tally.services.heal, run by Celery beat every PNYX_SWEEP_SECONDS): a
# tally or a key-ceremony phase waiting on worker trustees that has not moved for
# PNYX_STALL_SECONDS is shown as stalled and its idempotent steps are driven again (then again
# every PNYX_STALL_SECONDS while it stays stalled). While an election is open, its worker
# trustees are asked to look at the board every PNYX_TRUSTEE_LOOK_SECONDS (0: never), so that
# at the close each one verifies only what was appended since.
PNYX_SWEEP_SECONDS = env_int("PNYX_SWEEP_SECONDS", default=30, minimum=1)
PNYX_STALL_SECONDS = env_int("PNYX_STALL_SECONDS", default=120, minimum=1)
PNYX_TRUSTEE_LOOK_SECONDS = env_int("PNYX_TRUSTEE_LOOK_SECONDS", default=300, minimum=0)
# The request header holding the client address when a reverse proxy sets it
# (e.g. HTTP_X_REAL_IP); empty: REMOTE_ADDR. Used only for rate limits.
PNYX_CLIENT_IP_HEADER = os.environ.get("PNYX_CLIENT_IP_HEADER", "")

# --- Celery -----------------------------------------------------------------
# Task-execution invariants (acks late, json only, ...) are fixed in
# config/celery.py; only where the broker and results live is configured here.

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL

if CELERY_BROKER_URL.startswith("filesystem://"):
    # Embedded broker for machines without Redis: messages are files under
    # var/celery/. One machine only; fine for a demo, not for production.
    _celery_dir = VAR_DIR / "celery"
    _folders = {name: _celery_dir / name for name in ("queue", "processed", "control", "results")}
    for _folder in _folders.values():
        _folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Producers and consumers share one configuration, so they must share
        # one folder: both directions point at it.
        "data_folder_in": str(_folders["queue"]),
        "data_folder_out": str(_folders["queue"]),
        "processed_folder": str(_folders["processed"]),
        "control_folder": str(_folders["control"]),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = f"file://{_folders['results']}"
else:
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or CELERY_BROKER_URL

# Redis: a task taken by a worker that vanished (killed, machine lost) is acknowledged late, so
# it stays in Redis and is delivered again once it has been taken for this many seconds. It must
# exceed the longest task (a trustee verifying a large board: minutes), and every worker sharing
# the broker (trustees' included) should use the same value: any of them puts back the tasks of
# all. The sweeper (PNYX_STALL_SECONDS) usually drives a lost step again before that.
PNYX_BROKER_VISIBILITY_TIMEOUT = env_int("PNYX_BROKER_VISIBILITY_TIMEOUT", default=3600, minimum=1)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "redis+socket://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": PNYX_BROKER_VISIBILITY_TIMEOUT,
        # look for such tasks every few seconds (kombu's default: every 100 s)
        "unacked_restore_interval": max(1, min(10, PNYX_BROKER_VISIBILITY_TIMEOUT // 3)),
        "unacked_restore_throttle": 1,
    }

# --- Logging ----------------------------------------------------------------
# Handlers format the message only. Request bodies are never logged: no
# handler formats %(request)s, and AdminEmailHandler (which mails POST data)
# is not used.

LOG_LEVEL = os.environ.get("PNYX_LOG_LEVEL", "INFO").upper()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # SQL parameters can carry ballots or credentials: never log them,
        # whatever PNYX_LOG_LEVEL says.
        "django.db.backends": {"level": "INFO"},
        "celery": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}
