"""Reads of the identity app."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import Http404

from identity.models import CredentialIssuance, Voter, election_model


def election_get(*, election_id: Any) -> Model:
    """The election (``voting.Election``), or 404."""
    election = election_model()
    try:
        return election.objects.get(pk=election_id)
    except (election.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("No such election.") from exc


def voter_find(*, election_id: Any, identifier: str | None = None, email: str | None = None):
    """The voter with this identifier, or this e-mail address (compared in lower case), or
    ``None``."""
    voters = Voter.objects.filter(election_id=election_id)
    if identifier is not None:
        return voters.filter(identifier=identifier.strip()).first()
    if email is not None:
        return voters.filter(email=email.strip().lower()).first()
    return None


def voter_get(*, election_id: Any, voter_id: int) -> Voter | None:
    return Voter.objects.filter(election_id=election_id, pk=voter_id).first()


def voter_bound_tag(*, voter_id: int) -> str | None:
    """The keyed tag of the credential the voter is bound to (its first ballot's), or ``None``."""
    return Voter.objects.filter(pk=voter_id).values_list("credential_tag", flat=True).first()


def credential_issuance_latest(*, election_id: Any) -> CredentialIssuance | None:
    return (
        CredentialIssuance.objects.filter(election_id=election_id).order_by("-created_at").first()
    )
