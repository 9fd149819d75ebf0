"""``manage.py credentials``: the credential authority, offline, for elections that separate it
from the server.

    manage.py credentials generate --election-uuid UUID --roll roll.csv \\
        --private-out codes.csv --public-out public.json
    manage.py credentials upload --election SLUG-OR-UUID public.json

``generate`` needs no database with ``--election-uuid`` (with ``--election`` it only reads the
election's UUID and slug). It writes the voters' secret codes to the private file (mode 0600; the
authority mails them out, then destroys the file) and the public credentials to the public file,
which the officials ``upload`` (or upload in the admin).
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.api_errors import ApplicationError
from crypto.credentials import format_code
from identity.models import election_model
from identity.services.credentials import (
    RollEntry,
    credentials_generate,
    credentials_publish_file,
    public_credentials_file,
)
from identity.services.voters import roll_read


def _election(key: str):
    Election = election_model()  # noqa: N806 - the model class
    try:
        return Election.objects.get(pk=uuid.UUID(key))
    except (ValueError, Election.DoesNotExist):
        pass
    try:
        return Election.objects.get(slug=key)
    except Election.DoesNotExist:
        raise CommandError(f"No election with slug or UUID {key!r}.") from None


def _open_new(path: Path, *, force: bool, private: bool):
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600 if private else 0o644)
    except FileExistsError:
        raise CommandError(f"{path} exists; use --force to overwrite it.") from None
    if private:
        os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


class Command(BaseCommand):
    help = "Generate voters' credentials offline, or upload an authority's public credential file."
    requires_system_checks: list = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        generate = sub.add_parser(
            "generate", help="Make a secret code per voter (private file) and the public file."
        )
        which = generate.add_mutually_exclusive_group(required=True)
        which.add_argument("--election", help="Slug or UUID (reads the election's UUID).")
        which.add_argument("--election-uuid", help="The election's UUID (no database needed).")
        generate.add_argument("--slug", help="With --election-uuid: the slug, for booth links.")
        generate.add_argument(
            "--roll", required=True, type=Path, help="CSV identifier,email[,weight]"
        )
        generate.add_argument("--private-out", required=True, type=Path)
        generate.add_argument("--public-out", required=True, type=Path)
        generate.add_argument("--force", action="store_true", help="Overwrite the output files.")

        upload = sub.add_parser("upload", help="Check and publish a public credential file.")
        upload.add_argument("--election", required=True, help="Slug or UUID.")
        upload.add_argument("public_file", type=Path)

    def handle(self, *args, **options) -> None:
        if options["action"] == "generate":
            self.generate(options)
        else:
            self.upload(options)

    def generate(self, options: dict) -> None:
        if options["election"]:
            election = _election(options["election"])
            election_uuid, slug = str(election.pk), election.slug
        else:
            try:
                election_uuid = str(uuid.UUID(options["election_uuid"]))
            except ValueError:
                raise CommandError("--election-uuid is not a UUID.") from None
            slug = options["slug"]
        with options["roll"].open("rb") as handle:
            report = roll_read(handle)
        if not report.ok:
            for line, message in report.errors:
                self.stderr.write(f"{options['roll']}:{line}: {message}")
            raise CommandError(f"The roll has {report.error_count} error(s); nothing was written.")
        roll = [RollEntry(r.identifier, r.email, r.weight) for r in report.rows]
        issued, public = credentials_generate(election_uuid=election_uuid, roll=roll)
        with _open_new(options["private_out"], force=options["force"], private=True) as out:
            writer = csv.writer(out)
            writer.writerow(["identifier", "email", "weight", "credential", "booth_url"])
            for item in issued:
                link = (
                    f"{settings.PNYX_BASE_URL}/e/{slug}/vote#credential={format_code(item.code)}"
                    if slug
                    else ""
                )
                writer.writerow(
                    [item.identifier, item.email, item.weight, format_code(item.code), link]
                )
        issued.clear()
        with _open_new(options["public_out"], force=options["force"], private=False) as out:
            json.dump(
                public_credentials_file(election_uuid=election_uuid, credentials=public),
                out,
                indent=1,
            )
            out.write("\n")
        self.stdout.write(
            f"{len(public)} credentials for election {election_uuid}:\n"
            f"  secret codes → {options['private_out']} (mail each voter its code, then destroy "
            "this file)\n"
            f"  public file  → {options['public_out']} (give it to the officials: "
            "manage.py credentials upload, or the admin)"
        )

    def upload(self, options: dict) -> None:
        election = _election(options["election"])
        try:
            data = options["public_file"].read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {options['public_file']}: {exc}") from exc
        try:
            entry = credentials_publish_file(election=election, data=data, acting_user=None)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Published {election.credentials_count} credentials for {election.slug} "
            f"(board entry #{entry.seq}, digest {election.credentials_digest})."
        )
