"""``manage.py trustee …``: the offline trustee's commands (the same as ``pnyx-trustee``).

They need no database: a trustee with a checkout of Pnyx can use either form. See
``manage.py trustee --help`` and docs/trustees.md.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tally.trustee_cli import main


class Command(BaseCommand):
    help = "A trustee's key store and key-ceremony / decryption messages (as pnyx-trustee)."

    def run_from_argv(self, argv: list[str]) -> None:
        # pnyx-trustee parses its own arguments (subcommands and their options)
        raise SystemExit(main(argv[2:], prog=f"{argv[0]} trustee"))

    def add_arguments(self, parser) -> None:
        parser.add_argument("arguments", nargs="*", help="pnyx-trustee arguments")

    def handle(self, *args, **options) -> None:  # call_command("trustee", "info", "--keystore", …)
        code = main(list(options.get("arguments") or args), prog="manage.py trustee")
        if code:
            raise CommandError(f"pnyx-trustee exited with status {code}", returncode=code)
