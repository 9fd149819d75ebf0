"""PostgreSQL only: refuse UPDATE and DELETE on the bulletin board and the cast ballots in the
database itself, whatever the client (the models refuse them too, on every database); and compress
board lines with lz4 (PostgreSQL ≥ 14 built with it), which is cheaper than the default pglz —
that gives up on hex-heavy lines after trying — and than storing them uncompressed
(docs/performance-cast.md). Without lz4, lines are stored uncompressed."""

from django.db import DatabaseError, migrations, transaction

TABLES = ("voting_boardentry", "voting_ballot")

FUNCTION = """
CREATE OR REPLACE FUNCTION pnyx_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'pnyx: % on % refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)  # no placeholders: RAISE uses %
    _line_storage(schema_editor)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION pnyx_append_only()"
        )


def _line_storage(schema_editor):
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("ALTER TABLE voting_boardentry ALTER COLUMN line SET COMPRESSION lz4")
    except DatabaseError:
        schema_editor.execute("ALTER TABLE voting_boardentry ALTER COLUMN line SET STORAGE EXTERNAL")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS pnyx_append_only()")
    schema_editor.execute("ALTER TABLE voting_boardentry ALTER COLUMN line SET STORAGE EXTENDED")
    schema_editor.execute("ALTER TABLE voting_boardentry ALTER COLUMN line SET COMPRESSION DEFAULT")


class Migration(migrations.Migration):
    dependencies = [("voting", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
