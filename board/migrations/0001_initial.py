"""The board's tables move from voting/ to this app, in Django's state only: the tables keep
their names (``voting_boardhead``, ``voting_boardentry``), their rows, constraints, indexes and
triggers. voting/migrations/0008_board_moves_out.py and tally/migrations/0004 point their foreign
keys here and drop the old models from their state."""

import django.db.models.deletion
from django.db import migrations, models

from crypto.board import ENTRY_KINDS


class Migration(migrations.Migration):
    initial = True

    dependencies = [("voting", "0007_append_only_truncate")]

    state_operations = [
        migrations.CreateModel(
            name="BoardHead",
            fields=[
                (
                    "election",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="board_head",
                        serialize=False,
                        to="voting.election",
                    ),
                ),
                ("seq", models.BigIntegerField()),
                ("hash", models.CharField(max_length=64)),
                ("time", models.CharField(max_length=24)),
            ],
            options={"db_table": "voting_boardhead"},
        ),
        migrations.CreateModel(
            name="BoardEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("seq", models.BigIntegerField()),
                ("kind", models.CharField(choices=[(k, k) for k in ENTRY_KINDS], max_length=32)),
                ("time", models.CharField(max_length=24)),
                ("prev", models.CharField(max_length=64)),
                ("hash", models.CharField(max_length=64)),
                ("tracker", models.CharField(blank=True, max_length=64, null=True)),
                ("line", models.TextField()),
                (
                    "election",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="board_entries",
                        to="voting.election",
                    ),
                ),
            ],
            options={
                "db_table": "voting_boardentry",
                "verbose_name_plural": "board entries",
                "ordering": ["election_id", "seq"],
            },
        ),
        migrations.AddIndex(
            model_name="boardentry",
            index=models.Index(
                condition=models.Q(("kind", "ballot"), _negated=True),
                fields=["election", "kind", "seq"],
                name="board_entry_kind",
            ),
        ),
        migrations.AddConstraint(
            model_name="boardentry",
            constraint=models.UniqueConstraint(fields=("election", "seq"), name="board_entry_seq"),
        ),
        migrations.AddConstraint(
            model_name="boardentry",
            constraint=models.UniqueConstraint(fields=("election", "prev"), name="board_entry_prev"),
        ),
        migrations.AddConstraint(
            model_name="boardentry",
            constraint=models.UniqueConstraint(fields=("hash",), name="board_entry_hash"),
        ),
        migrations.AddConstraint(
            model_name="boardentry",
            constraint=models.UniqueConstraint(
                condition=models.Q(("tracker__isnull", False)),
                fields=("election", "tracker"),
                name="board_entry_tracker",
            ),
        ),
        migrations.AddConstraint(
            model_name="boardentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("seq__gte", 0)), name="board_entry_seq_nonnegative"
            ),
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
