"""PostgreSQL only: ``pnyx_append_ballot`` also refuses, under the board lock, a ballot that
reuses an audited ciphertext (§12.2) and one whose voter is bound to another credential, and binds
the voter to the ballot's credential at the first ballot (voting.services.casting); and the audited
alphas are append-only like the board.

The function of voting/migrations/0004_append_ballot_function.py with two more parameters:
``p_tag``, the keyed tag of the ballot's credential (identity.services.voters.credential_tag), and
``p_alphas``, the α of every choice and budget-bit ciphertext of the ballot (65 bytes each). After
the head lock, the state and the window (each statement of the function takes a fresh snapshot, so
an audit or a first ballot committed by the lock's previous holder is seen):

- an α among the election's audited alphas → status ``audited``;
- the voter bound to another tag → ``mismatch``; not bound yet, and another voter of the election
  bound to this tag → ``taken``; not bound yet → bound now (with the day of the first ballot);

nothing written in these cases. Every binding is written by this function under the board lock,
so two first ballots of one voter with different credentials are serialised: exactly one binds.
The partial unique index on (election, credential_tag) backs it up.
"""

from importlib import import_module

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION pnyx_append_ballot(
    p_election uuid, p_prefix text, p_version integer, p_now varchar, p_closes varchar,
    p_tracker varchar, p_credential varchar, p_voter bigint, p_day timestamptz, p_points bytea,
    p_tag varchar, p_alphas bytea[]
) RETURNS TABLE (status text, seq bigint, hash varchar, "time" varchar, entry_id bigint)
LANGUAGE plpgsql VOLATILE AS $fn$
#variable_conflict use_column
DECLARE
    head_seq bigint;
    head_hash varchar;
    head_time varchar;
    election_state varchar;
    entry_time varchar;
    bound_tag varchar;
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
    -- An audited ballot's ciphertexts are never cast (audits write their alphas under this lock).
    IF EXISTS (SELECT 1 FROM voting_auditedalpha a
               WHERE a.election_id = p_election AND a.alpha = ANY (p_alphas)) THEN
        RETURN QUERY SELECT 'audited'::text, head_seq, head_hash, head_time, NULL::bigint;
        RETURN;
    END IF;
    -- The voter's credential: bound at the first ballot, the same ever after.
    SELECT v.credential_tag INTO bound_tag FROM identity_voter v
    WHERE v.id = p_voter AND v.election_id = p_election;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'pnyx: no voter % in election %', p_voter, p_election
            USING ERRCODE = 'no_data_found';
    END IF;
    IF bound_tag IS NULL THEN
        IF EXISTS (SELECT 1 FROM identity_voter v
                   WHERE v.election_id = p_election AND v.credential_tag = p_tag) THEN
            RETURN QUERY SELECT 'taken'::text, head_seq, head_hash, head_time, NULL::bigint;
            RETURN;
        END IF;
        UPDATE identity_voter SET credential_tag = p_tag, voted_at = COALESCE(voted_at, p_day)
        WHERE id = p_voter;
    ELSIF bound_tag <> p_tag THEN
        RETURN QUERY SELECT 'mismatch'::text, head_seq, head_hash, head_time, NULL::bigint;
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
    RETURN QUERY SELECT 'ok'::text, head_seq + 1, digest, entry_time, new_entry;
END;
$fn$;
"""

OLD_SIGNATURE = (
    "pnyx_append_ballot(uuid, text, integer, varchar, varchar, varchar, varchar, bigint,"
    " timestamptz, bytea)"
)
NEW_SIGNATURE = OLD_SIGNATURE[:-1] + ", varchar, bytea[])"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {OLD_SIGNATURE}")
    schema_editor.execute(FUNCTION, params=None)  # no placeholders (RAISE uses %)
    schema_editor.execute(
        "CREATE TRIGGER voting_auditedalpha_append_only BEFORE UPDATE OR DELETE ON"
        " voting_auditedalpha FOR EACH STATEMENT EXECUTE FUNCTION pnyx_append_only()"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS voting_auditedalpha_append_only ON voting_auditedalpha"
    )
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {NEW_SIGNATURE}")
    previous = import_module("voting.migrations.0004_append_ballot_function")
    schema_editor.execute(previous.FUNCTION, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("voting", "0005_audited_alpha"),
        ("identity", "0002_voter_credential_binding"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
