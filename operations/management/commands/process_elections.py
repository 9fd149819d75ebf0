"""``manage.py process_elections <process slug>``: create a participatory process's district
elections from its feasible proposals (operations.participation)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from config.api_errors import ApplicationError
from operations.participation import process_elections_create
from participation.models import Process


class Command(BaseCommand):
    help = "Create the district elections of a participatory process from its feasible proposals."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="the process's slug")

    def handle(self, *args, slug: str, **options) -> None:
        process = Process.objects.filter(slug=slug).first()
        if process is None:
            raise CommandError(f"No process has the slug {slug!r}.")
        try:
            elections = process_elections_create(process=process)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        for election in elections:
            self.stdout.write(f"{election.slug}: {election.pk}")
