"""Django settings for Pnyx, read from the environment.

The README lists every variable. Defaults give a working single-machine set-up:
SQLite under ``var/`` and Redis on localhost.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    board_signing_seed_load,
    env_bool,
    env_int,
    env_list,
    env_secret,
    secret_key_load_or_create,
)
from config.languages import languages_from_locale

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PNYX_VAR_DIR") or BASE_DIR / "var").resolve()
VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)

DEBUG = env_bool("PNYX_DEBUG")
# A demo instance (make run sets PNYX_DEMO=1): voters' e-mails may stay on this machine
# (config/email.py) and seed_demo may create an official's account. Never in production.
PNYX_DEMO = env_bool("PNYX_DEMO")
# Only tests/conftest.py sets this (no environment variable can): the test suite, whose e-mails
# Django keeps in memory (locmem).
PNYX_TEST_SUITE = False
HTTPS = env_bool("PNYX_HTTPS")

SECRET_KEY = os.environ.get("SECRET_KEY") or secret_key_load_or_create(path=VAR_DIR / "secret_key")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.PnyxAdminConfig",  # django.contrib.admin, plus Pnyx's system checks
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",  # officials' login: lockout after failures (config/officials.py)
    "django_otp",  # officials' login: authenticator codes
    "officials",  # officials' authenticators, seeds sealed at rest (officials/seal.py)
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "board",
    "identity",
    "voting",
    "tally",
    "participation",
    "operations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # These two only add headers to responses: outside the guard, its answers get them too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    # TRACE, OPTIONS, oversized bodies and NUL characters, before anything reads the request.
    "config.middleware.RequestGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
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
                "config.source.source_link",
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
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that does not answer fails a request in this many seconds (then 503, below)
    # instead of holding its worker for the operating system's TCP timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("PNYX_DB_CONNECT_TIMEOUT", default=5, minimum=1)
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has one writer at a time. BEGIN IMMEDIATE takes the write lock at the
    # start of every transaction, so concurrent bulletin-board appends queue up
    # (for up to `timeout` seconds) instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Officials' login (the admin): config/officials.py ----------------------
# Lockout after failed logins (django-axes) and authenticator codes (TOTP, django-otp): on in
# production, off in a demo or with PNYX_DEBUG unless the variables say otherwise.
_PRODUCTION = not DEBUG and not PNYX_DEMO
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out client before the password
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("PNYX_LOGIN_LOCKOUT", default=_PRODUCTION)
AXES_FAILURE_LIMIT = env_int("PNYX_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("PNYX_LOGIN_COOLOFF_MINUTES", default=15))
# Too many failures lock out a user name from one client (IPv4 address, IPv6 /64), and a client
# whatever the names it tries; never a user name from everywhere, which anyone could do to an
# official (README "Officials' login" says what stops a guess spread over many clients).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_CLIENT_IP_CALLABLE = "config.officials.lockout_client"
AXES_LOCKOUT_CALLABLE = "config.officials.lockout_response"
AXES_RESET_ON_SUCCESS = True
# Every official with a confirmed authenticator must give its code; PNYX_OFFICIAL_OTP_REQUIRED=1
# also keeps out every official without one.
PNYX_OFFICIAL_OTP = env_bool("PNYX_OFFICIAL_OTP", default=_PRODUCTION)
PNYX_OFFICIAL_OTP_REQUIRED = env_bool("PNYX_OFFICIAL_OTP_REQUIRED")
OTP_TOTP_ISSUER = "Pnyx"
# The key that seals the officials' authenticator seeds (AES-256-GCM, officials/seal.py): 64 hex
# digits or base64 of 32 bytes; when unset, made once into var/otp_seal_key (0600). Never in the
# database: keep it, and back it up apart from the database.
PNYX_OTP_SEAL_KEY = os.environ.get("PNYX_OTP_SEAL_KEY", "").strip()
PNYX_OTP_SEAL_KEY_FILE = VAR_DIR / "otp_seal_key"

# --- Passwords, i18n --------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# English, then each translation in locale/ (a new language is only a locale/<code>/ folder)
LANGUAGES = languages_from_locale(BASE_DIR / "locale")
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
# Whether every subdomain is HTTPS-only too, and whether to ask browsers to preload HSTS, is the
# domain owner's decision: off unless said.
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and env_bool("PNYX_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = HTTPS and env_bool("PNYX_HSTS_PRELOAD")

# `manage.py check --deploy` is clean with production settings (README, Deployment;
# tests/test_deploy_checks.py); these checks are silenced on purpose, each for its reason.
SILENCED_SYSTEM_CHECKS_REASONS = {
    "security.W008": "TLS ends at the reverse proxy, which also redirects HTTP to HTTPS; behind "
    "it Django sees plain HTTP, so SECURE_SSL_REDIRECT would redirect every request for ever.",
    "security.W005": "HSTS for every subdomain is the domain owner's decision "
    "(PNYX_HSTS_INCLUDE_SUBDOMAINS=1), not the voting site's.",
    "security.W021": "The HSTS preload list is a commitment for the whole domain, made by its "
    "owner (PNYX_HSTS_PRELOAD=1).",
}
SILENCED_SYSTEM_CHECKS = list(SILENCED_SYSTEM_CHECKS_REASONS)

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
    "DEFAULT_SCHEMA_CLASS": "config.api_schema.PnyxAutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # One strict JSON parser for every endpoint (config/api_parsers.py).
    "DEFAULT_PARSER_CLASSES": ["config.api_parsers.StrictJsonParser"],
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
    # Choice sets used by more than one component get one name (`manage.py spectacular
    # --validate --fail-on-warn` is clean; tests/api/test_schema.py checks it).
    "ENUM_NAME_OVERRIDES": {"ReceiptKindEnum": ["ballot", "audit"]},
}

# --- E-mail -----------------------------------------------------------------
# Voters receive their credential and their login codes by e-mail: production sets
# EMAIL_HOST* for the default smtp backend. A demo writes messages as files under var/mail/;
# outside a demo the file, console and locmem backends are refused (config/email.py, pnyx.E001).

_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}
_email_backend = os.environ.get("EMAIL_BACKEND") or ("file" if PNYX_DEMO else "smtp")
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
# Where the footer's "Source code" link points (AGPL-3.0-or-later, section 13): the published
# source of the deployed release; empty: /source.tar.gz, the tree this instance runs from.
PNYX_SOURCE_URL = os.environ.get("PNYX_SOURCE_URL", "").strip()
if PNYX_SOURCE_URL and not PNYX_SOURCE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("PNYX_SOURCE_URL must be an http(s) address.")
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

# The largest request body any endpoint reads, in bytes. A larger declared body is answered 413
# before it is read (config.middleware.RequestGuardMiddleware); Django's form parsing and the
# API's JSON parser use the same number. Endpoints have smaller limits of their own (ballots: the
# election's shape, at most PNYX_BALLOT_MAX_BYTES; audits, a ballot with its randomness: at most
# twice that; trustee messages: the tally's size). The default leaves room for the largest audit.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("PNYX_REQUEST_MAX_BYTES", default=2 * PNYX_BALLOT_MAX_BYTES)

# Credentials are e-mailed in batches of this many messages per connection.
PNYX_CREDENTIAL_EMAIL_BATCH = env_int("PNYX_CREDENTIAL_EMAIL_BATCH", default=200)

# Voter login by one-time code sent by e-mail.
PNYX_LOGIN_CODE_TTL_SECONDS = env_int("PNYX_LOGIN_CODE_TTL_SECONDS", default=15 * 60)
PNYX_LOGIN_CODE_MAX_ATTEMPTS = env_int("PNYX_LOGIN_CODE_MAX_ATTEMPTS", default=5)
PNYX_LOGIN_CODES_PER_VOTER_PER_HOUR = env_int("PNYX_LOGIN_CODES_PER_VOTER_PER_HOUR", default=5)
PNYX_LOGIN_REQUESTS_PER_IP_PER_HOUR = env_int("PNYX_LOGIN_REQUESTS_PER_IP_PER_HOUR", default=60)
PNYX_LOGIN_VERIFY_PER_IP_PER_HOUR = env_int("PNYX_LOGIN_VERIFY_PER_IP_PER_HOUR", default=120)
# Per election, whatever the client: login requests and code checks per window (many addresses
# guessing together, or flooding the voters with e-mails). Past them every voter of the election
# gets 429 until the window ends: size them for the busiest hour of a large election.
PNYX_LOGIN_REQUESTS_PER_ELECTION = env_int("PNYX_LOGIN_REQUESTS_PER_ELECTION", default=10_000)
PNYX_LOGIN_VERIFY_PER_ELECTION = env_int("PNYX_LOGIN_VERIFY_PER_ELECTION", default=30_000)
PNYX_LOGIN_ELECTION_WINDOW_SECONDS = env_int("PNYX_LOGIN_ELECTION_WINDOW_SECONDS", default=3600)
if not 60 <= PNYX_LOGIN_ELECTION_WINDOW_SECONDS <= 86400:
    # rate-limit buckets are kept for a day (identity/services/ratelimit.py)
    raise ImproperlyConfigured("PNYX_LOGIN_ELECTION_WINDOW_SECONDS must be from 60 to 86400.")
PNYX_VOTER_SESSION_SECONDS = env_int("PNYX_VOTER_SESSION_SECONDS", default=4 * 3600)
# Benaloh audits a voter may post per election (each one is a board entry).
PNYX_AUDITS_PER_VOTER = env_int("PNYX_AUDITS_PER_VOTER", default=20)
# Revotes (ballots after a voter's first) a voter may cast per clock hour; more get 429 with
# Retry-After. A voter's first ballot is never limited.
PNYX_REVOTES_PER_VOTER_PER_HOUR = env_int("PNYX_REVOTES_PER_VOTER_PER_HOUR", default=10)
# Tally: ballots added up per Celery task (the aggregation is a chord of such chunks, spread
# over every worker that consumes the "tally" queue).
PNYX_TALLY_CHUNK_BALLOTS = env_int("PNYX_TALLY_CHUNK_BALLOTS", default=5000)
# The monitoring token that may ask /healthz?worker=1 (Authorization: Bearer …); empty: only
# officials logged in to the admin may.
PNYX_HEALTH_TOKEN = env_secret("PNYX_HEALTH_TOKEN", min_length=32)
# Healing without a human (tally.services.heal, run by Celery beat every PNYX_SWEEP_SECONDS): a
# tally or a key-ceremony phase waiting on worker trustees that has not moved for
# PNYX_STALL_SECONDS is shown as stalled and its idempotent steps are driven again (then again
# every PNYX_STALL_SECONDS while it stays stalled). While an election is open, its worker
# trustees are asked to look at the board every PNYX_TRUSTEE_LOOK_SECONDS (0: never), so that
# at the close each one verifies only what was appended since.
PNYX_SWEEP_SECONDS = env_int("PNYX_SWEEP_SECONDS", default=30, minimum=1)
PNYX_STALL_SECONDS = env_int("PNYX_STALL_SECONDS", default=120, minimum=1)
# The mixnet (protocol §15.11): a trustee asked to shuffle that has not delivered its shuffle
# within PNYX_MIX_TIMEOUT_SECONDS is skipped (a mix-skip entry) and the next trustee is asked.
PNYX_MIX_TIMEOUT_SECONDS = env_int("PNYX_MIX_TIMEOUT_SECONDS", default=3600, minimum=1)
PNYX_TRUSTEE_LOOK_SECONDS = env_int("PNYX_TRUSTEE_LOOK_SECONDS", default=300, minimum=0)
# The board's transparency log (board/tree.py): Celery beat checkpoints every board with new
# entries every PNYX_CHECKPOINT_SECONDS (and every state change checkpoints at once).
PNYX_CHECKPOINT_SECONDS = env_int("PNYX_CHECKPOINT_SECONDS", default=3, minimum=1)
# Every 503 (database unreachable, a login code that could not be queued: docs/faults.md) asks
# the client to come back after this many seconds (Retry-After).
PNYX_RETRY_AFTER_SECONDS = env_int("PNYX_RETRY_AFTER_SECONDS", default=5, minimum=1)
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
# A request that sends a task waits for the broker at most about twice this (config/broker.py):
# the connect and command timeout of every broker and result-store socket, a publish retried once
# at once. A Redis that is down refuses at once; this bounds a Redis that does not answer.
PNYX_BROKER_TIMEOUT_SECONDS = env_int("PNYX_BROKER_TIMEOUT_SECONDS", default=2, minimum=1)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "redis+socket://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": PNYX_BROKER_VISIBILITY_TIMEOUT,
        # look for such tasks every few seconds (kombu's default: every 100 s)
        "unacked_restore_interval": max(1, min(10, PNYX_BROKER_VISIBILITY_TIMEOUT // 3)),
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": PNYX_BROKER_TIMEOUT_SECONDS,
        "socket_timeout": PNYX_BROKER_TIMEOUT_SECONDS,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = PNYX_BROKER_TIMEOUT_SECONDS
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
if CELERY_RESULT_BACKEND.startswith(("redis://", "rediss://", "redis+socket://")):
    # Only /healthz?worker=1 and the distributed board check wait for results; nothing waits
    # 20 × 1 s for a result store that is down (Celery's default).
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = PNYX_BROKER_TIMEOUT_SECONDS
    CELERY_REDIS_SOCKET_TIMEOUT = PNYX_BROKER_TIMEOUT_SECONDS
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
        "retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 0.5,
        }
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

# Casting batches the ballots that arrive together (voting/services/cast_batch.py): at most this
# many per batch, gathered for this long by a thread that finds no batch under way.
PNYX_CAST_BATCH_MAX = env_int("PNYX_CAST_BATCH_MAX", default=64, minimum=1)
PNYX_CAST_BATCH_WINDOW_MS = env_int("PNYX_CAST_BATCH_WINDOW_MS", default=2, minimum=0)
