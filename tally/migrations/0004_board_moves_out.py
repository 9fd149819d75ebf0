"""The board's tables now belong to board/ (board/migrations/0001_initial.py): the foreign keys
to board entries point there, in Django's state only (same table, same columns)."""

import django.db.models.deletion
from django.db import migrations, models


def _entry(**kwargs):
    return models.OneToOneField(
        null=True,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to="board.boardentry",
        **kwargs,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("board", "0001_initial"),
        ("tally", "0003_tally_progress_chunk_exports_trustee_seen"),
    ]

    state_operations = [
        migrations.AlterField(model_name="ceremonymessage", name="entry", field=_entry()),
        migrations.AlterField(model_name="partialdecryptionrecord", name="entry", field=_entry()),
        migrations.AlterField(
            model_name="partialdecryptionrecord", name="rejection_entry", field=_entry()
        ),
        migrations.AlterField(model_name="tallyrun", name="result_entry", field=_entry()),
        migrations.AlterField(model_name="tallyrun", name="tally_entry", field=_entry()),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
