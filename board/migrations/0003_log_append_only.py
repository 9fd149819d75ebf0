"""PostgreSQL only: the log's stored hashes, checkpoints and cosignatures are append-only like the
board (``pnyx_append_only``, voting/migrations/0002 and 0007): UPDATE, DELETE and TRUNCATE are
refused whatever the client."""

from django.db import migrations

TABLES = ("board_treehash", "board_checkpoint", "board_cosignature")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION pnyx_append_only()"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION pnyx_append_only()"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")


class Migration(migrations.Migration):
    dependencies = [
        ("board", "0002_tree_checkpoints_witnesses"),
        ("voting", "0007_append_only_truncate"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
