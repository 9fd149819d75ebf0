"""System checks of the key that seals officials' authenticator seeds (officials/seal.py).

- pnyx.E005: PNYX_OTP_SEAL_KEY, or the key file, is malformed (or the file readable by others).
- pnyx.E006 (with a database: ``migrate``, ``manage.py check --database default``): authenticators
  are sealed, but the key is missing or is not the one they were sealed with.
"""

from __future__ import annotations

from django.core.checks import Error, Tags, register
from django.db import DatabaseError

from officials.seal import SealKeyError, seal_key_id, seal_key_load, seal_key_problem

_HINT = (
    "Set PNYX_OTP_SEAL_KEY to 64 hex digits (python3 -c 'import secrets; "
    "print(secrets.token_hex(32))'), or let Pnyx make PNYX_VAR_DIR/otp_seal_key; once "
    "authenticators are enrolled, keep that key and back it up apart from the database."
)


@register(Tags.security)
def check_seal_key(app_configs, **kwargs) -> list[Error]:
    problem = seal_key_problem()
    return [] if problem is None else [Error(problem, hint=_HINT, id="pnyx.E005")]


@register(Tags.security, Tags.database)
def check_sealed_seeds_open(app_configs, databases=None, **kwargs) -> list[Error]:
    if not databases:
        return []
    from officials.models import AuthenticatorDevice

    found = []
    for alias in databases:
        try:
            key_ids = set(
                AuthenticatorDevice.objects.using(alias)
                .values_list("seal_key_id", flat=True)
                .distinct()
            )
        except DatabaseError:
            continue  # not migrated yet: nothing sealed there
        if not key_ids:
            continue
        try:
            current = seal_key_id(seal_key_load(create=False))
        except SealKeyError as error:
            found.append(Error(str(error), hint=_HINT, id="pnyx.E006"))
            continue
        others = sorted(key_ids - {current})
        if others:
            found.append(
                Error(
                    f"Officials' authenticators in database {alias!r} were sealed with the "
                    f"key(s) {', '.join(others)}, but the key configured now is {current}: "
                    "they cannot be checked and those officials cannot log in.",
                    hint="Restore the key they were sealed with (PNYX_OTP_SEAL_KEY or "
                    "PNYX_VAR_DIR/otp_seal_key), or delete those authenticators and enrol again.",
                    id="pnyx.E006",
                )
            )
    return found
