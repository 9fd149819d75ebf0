"""The board in the admin: entries, read-only (nothing updates or deletes an entry)."""

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from board.models import BoardEntry
from config.admin_base import ReadOnlyAdmin
from crypto.hashing import parse_json


@admin.register(BoardEntry)
class BoardEntryAdmin(ReadOnlyAdmin):
    list_display = ("election", "seq", "kind", "time", "short_hash", "tracker")
    list_filter = ("kind", "election")
    search_fields = ("hash", "tracker")
    list_select_related = ("election",)
    fields = ("election", "seq", "kind", "time", "prev", "hash", "tracker", "entry")
    readonly_fields = fields
    ordering = ("election", "seq")

    @admin.display(description=_("hash"))
    def short_hash(self, entry: BoardEntry) -> str:
        return f"{entry.hash[:16]}…"

    @admin.display(description=_("entry (canonical JSON)"))
    def entry(self, entry: BoardEntry) -> str:
        pretty = json.dumps(parse_json(entry.line), indent=2, ensure_ascii=False)
        return format_html('<pre class="board-entry">{}</pre>', pretty)
