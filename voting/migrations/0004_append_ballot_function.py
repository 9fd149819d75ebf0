"""PostgreSQL only: ``pnyx_append_ballot(…)``, the board append of a cast ballot as one statement
(voting.services.casting, docs/performance-cast.md).

Called in autocommit mode it is its own transaction: the board head stays locked only while the
function runs and the commit is flushed, with no network round trip in between. Each statement of
a (volatile) PL/pgSQL function takes a fresh snapshot, so everything read after the head lock —
the election's state, the credential's previous ballot — includes what the previous holder of the
lock committed.

The entry hash is SHA-256 of the canonical entry without ``hash`` (crypto.board): the caller
passes that canonical JSON up to ``"prev":"`` (``election``, ``kind`` and ``payload`` sort before
``prev``); the function appends ``prev``, ``seq``, ``time`` and ``version`` from the locked head,
hashes it, and stores the line with ``"hash"`` inserted after ``election`` (sorted keys). The
tests compare every appended line with crypto.board's own serialisation.

Returns one row ``(status, seq, hash, time, entry_id)``: status ``ok``, or ``closed`` (the
election's state is then in ``hash``) or ``window`` (the entry's board time is not before the
close), with nothing written.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION pnyx_append_ballot(
    p_election uuid, p_prefix text, p_version integer, p_now varchar, p_closes varchar,
    p_tracker varchar, p_credential varchar, p_voter bigint, p_day timestamptz, p_points bytea
) RETURNS TABLE (status text, seq bigint, hash varchar, "time" varchar, entry_id bigint)
LANGUAGE plpgsql VOLATILE AS $fn$
#variable_conflict use_column
DECLARE
    head_seq bigint;
    head_hash varchar;
    head_time varchar;
    election_state varchar;
    entry_time varchar;
    body text;
    digest varchar;
    new_entry bigint;
    previous bigint;
    cut integer;
BEGIN
    SELECT h.seq, h.hash, h.time INTO head_seq, head_hash, head_time
    FROM voting_boardhead h WHERE h.election_id = p_election FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'pnyx: no board for election %', p_election
            USING ERRCODE = 'no_data_found';
    END IF;
    -- A fresh snapshot: a close committed by the lock's previous holder is seen.
    SELECT e.state INTO election_state FROM voting_election e WHERE e.id = p_election;
    IF election_state IS DISTINCT FROM 'open' THEN
        RETURN QUERY SELECT 'closed'::text, head_seq, election_state, head_time, NULL::bigint;
        RETURN;
    END IF;
    -- Board time never goes backwards; it must stay before the close.
    entry_time := GREATEST(p_now, head_time);
    IF entry_time >= p_closes THEN
        RETURN QUERY SELECT 'window'::text, head_seq, head_hash, entry_time, NULL::bigint;
        RETURN;
    END IF;
    body := p_prefix || head_hash || '","seq":' || (head_seq + 1)::text || ',"time":"'
        || entry_time || '","version":' || p_version::text || '}';
    digest := encode(sha256(convert_to(body, 'UTF8')), 'hex');
    cut := length('{"election":"' || p_election::text || '",');
    INSERT INTO voting_boardentry (election_id, seq, kind, time, prev, hash, tracker, line)
    VALUES (p_election, head_seq + 1, 'ballot', entry_time, head_hash, digest, p_tracker,
            left(body, cut) || '"hash":"' || digest || '",' || substr(body, cut + 1))
    RETURNING id INTO new_entry;
    UPDATE voting_boardhead SET seq = head_seq + 1, hash = digest, time = entry_time
    WHERE election_id = p_election;
    SELECT b.id INTO previous FROM voting_ballot b
    WHERE b.election_id = p_election AND b.credential = p_credential
    ORDER BY b.seq DESC LIMIT 1;
    INSERT INTO voting_ballot (election_id, entry_id, tracker, credential, seq, supersedes_id,
                               points)
    VALUES (p_election, new_entry, p_tracker, p_credential, head_seq + 1, previous, p_points);
    UPDATE identity_voter SET voted_at = p_day
    WHERE id = p_voter AND election_id = p_election AND voted_at IS NULL;
    RETURN QUERY SELECT 'ok'::text, head_seq + 1, digest, entry_time, new_entry;
END;
$fn$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)  # no placeholders (RAISE uses %)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS pnyx_append_ballot(uuid, text, integer, varchar, varchar,"
            " varchar, varchar, bigint, timestamptz, bytea)"
        )


class Migration(migrations.Migration):
    dependencies = [("voting", "0003_ballot_points"), ("identity", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
