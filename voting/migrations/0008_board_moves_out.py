"""The board's tables now belong to board/ (board/migrations/0001_initial.py): ballots and
audited alphas point there, and the old models leave voting's state. Nothing changes in the
database (same tables, same columns, constraints and triggers)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("board", "0001_initial"),
        ("tally", "0004_board_moves_out"),
        ("voting", "0007_append_only_truncate"),
    ]

    state_operations = [
        migrations.AlterField(
            model_name="ballot",
            name="entry",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ballot",
                to="board.boardentry",
            ),
        ),
        migrations.AlterField(
            model_name="auditedalpha",
            name="entry",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="board.boardentry",
            ),
        ),
        migrations.DeleteModel(name="BoardEntry"),
        migrations.DeleteModel(name="BoardHead"),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
