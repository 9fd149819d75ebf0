"""Fixtures of the crypto tests: pure Python, no database, no services."""

from __future__ import annotations

import os
import uuid

import pytest
from hypothesis import settings

import tests.strategies  # noqa: F401 - registers the Hypothesis profiles
from crypto.credentials import derive_signing_key, generate_code
from crypto.elgamal import ElectionKey, SecretKey, keygen
from crypto.signatures import SigningKey

_profile = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else None)
if _profile:
    settings.load_profile(_profile)


@pytest.fixture(scope="session")
def keypair() -> tuple[SecretKey, ElectionKey]:
    """A single-authority ElGamal key pair (the tests decrypt with its secret)."""
    return keygen()


@pytest.fixture(scope="session")
def secret_key(keypair) -> SecretKey:
    return keypair[0]


@pytest.fixture(scope="session")
def election_key(keypair) -> ElectionKey:
    return keypair[1]


@pytest.fixture(scope="session")
def election_uuid() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def signing_key(election_uuid) -> SigningKey:
    """A fresh voter credential's signing key."""
    return derive_signing_key(generate_code(), election_uuid)


@pytest.fixture(scope="session")
def voter_key(election_uuid) -> SigningKey:
    """One credential's signing key for the whole session (for Hypothesis tests)."""
    return derive_signing_key(generate_code(), election_uuid)
