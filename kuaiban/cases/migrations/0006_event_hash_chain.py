"""The event log's hash chain (see `kuaiban/cases/audit.py`): the columns, the database's
function and trigger that fill them on every insert, and the backfill of the existing rows.

The backfill must UPDATE rows of a log whose trigger refuses UPDATE. It disables that one trigger
inside this migration's transaction (ALTER TABLE takes an ACCESS EXCLUSIVE lock, so no other
session writes or reads the log meanwhile), fills the two columns chain by chain in id order,
and enables the trigger again before the transaction commits: nobody ever sees the log
unguarded, and the migration runs as the table's owner, the only role that may do this.
"""

from django.conf import settings
from django.db import migrations, models

HASH_FUNCTION = r"""
CREATE OR REPLACE FUNCTION kuaiban_hash_field(value text) RETURNS text AS $$
    SELECT length(coalesce(value, ''))::text || ':' || coalesce(value, '')
$$ LANGUAGE sql IMMUTABLE;

CREATE OR REPLACE FUNCTION kuaiban_event_hash(e cases_caseevent) RETURNS text AS $$
    SELECT encode(sha256(convert_to(
        kuaiban_hash_field(e.id::text)
        || kuaiban_hash_field(e.application_id::text)
        || kuaiban_hash_field(e.item_case_id::text)
        || kuaiban_hash_field(e.action)
        || kuaiban_hash_field(e.from_state)
        || kuaiban_hash_field(e.to_state)
        || kuaiban_hash_field(e.actor_id::text)
        || kuaiban_hash_field(to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))
        || kuaiban_hash_field(e.reason)
        || kuaiban_hash_field(e.request_id)
        || kuaiban_hash_field(e.data::text)
        || kuaiban_hash_field(e.prev_hash),
    'UTF8')), 'hex')
$$ LANGUAGE sql STABLE;
"""

# %(sequence)s is the id column's sequence, looked up when the migration runs.
CHAIN_TRIGGER = r"""
CREATE OR REPLACE FUNCTION kuaiban_event_chain() RETURNS trigger AS $$
DECLARE
    head text;
BEGIN
    -- One writer per application's chain until its transaction ends: the application's row
    -- lock (kept in the row, not in the lock table, so a COPY of thousands of applications in
    -- one transaction is fine; services holding it already take it again for nothing; FOR NO
    -- KEY UPDATE does not block the foreign-key checks of rows that point at the application).
    PERFORM 1 FROM cases_application WHERE id = NEW.application_id FOR NO KEY UPDATE;
    -- The id is taken under the lock: id order is the order the chain grew.
    NEW.id := nextval('%(sequence)s');
    SELECT e.hash INTO head FROM cases_caseevent AS e
        WHERE e.application_id = NEW.application_id ORDER BY e.id DESC LIMIT 1;
    NEW.prev_hash := coalesce(head, '');
    NEW.hash := kuaiban_event_hash(NEW);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql VOLATILE;

CREATE TRIGGER cases_caseevent_chain
    BEFORE INSERT ON cases_caseevent
    FOR EACH ROW EXECUTE FUNCTION kuaiban_event_chain();
"""

BACKFILL = r"""
ALTER TABLE cases_caseevent DISABLE TRIGGER cases_caseevent_append_only;
DO $$
DECLARE
    r cases_caseevent;
    head text := '';
    chain bigint := NULL;
BEGIN
    FOR r IN SELECT * FROM cases_caseevent ORDER BY application_id, id LOOP
        IF r.application_id IS DISTINCT FROM chain THEN
            head := '';
            chain := r.application_id;
        END IF;
        r.prev_hash := head;
        head := kuaiban_event_hash(r);
        UPDATE cases_caseevent SET prev_hash = r.prev_hash, hash = head WHERE id = r.id;
    END LOOP;
END;
$$;
ALTER TABLE cases_caseevent ENABLE TRIGGER cases_caseevent_append_only;
"""

DROP_POSTGRES = """
DROP TRIGGER IF EXISTS cases_caseevent_chain ON cases_caseevent;
DROP FUNCTION IF EXISTS kuaiban_event_chain();
DROP FUNCTION IF EXISTS kuaiban_event_hash(cases_caseevent);
DROP FUNCTION IF EXISTS kuaiban_hash_field(text);
"""

FIELD_LIST = (
    "id, application_id, item_case_id, action, from_state, to_state, actor_id, at, reason, "
    "request_id, data"
)
SQLITE_TRIGGER = f"""
CREATE TRIGGER cases_caseevent_chain AFTER INSERT ON cases_caseevent
BEGIN
    UPDATE cases_caseevent SET prev_hash = coalesce((
        SELECT e.hash FROM cases_caseevent AS e
        WHERE e.application_id = NEW.application_id AND e.id < NEW.id
        ORDER BY e.id DESC LIMIT 1), '') WHERE id = NEW.id;
    UPDATE cases_caseevent SET hash = kuaiban_event_hash({FIELD_LIST}, prev_hash)
        WHERE id = NEW.id;
END;
"""


def forward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence('cases_caseevent', 'id')")
            (sequence,) = cursor.fetchone()
            cursor.execute(HASH_FUNCTION)
            cursor.execute(BACKFILL)
            cursor.execute(CHAIN_TRIGGER % {"sequence": sequence})
    elif connection.vendor == "sqlite":
        from kuaiban.cases.audit import register_sqlite_function, sqlite_event_hash

        register_sqlite_function(None, connection)
        with connection.cursor() as cursor:
            # SQLite has no append-only trigger to step around; the hashes in Python, in order.
            cursor.execute(f"SELECT {FIELD_LIST} FROM cases_caseevent ORDER BY application_id, id")
            rows = cursor.fetchall()
            head, chain = "", None
            for row in rows:
                if row[1] != chain:
                    head, chain = "", row[1]
                new = sqlite_event_hash(*row, head)
                cursor.execute(
                    "UPDATE cases_caseevent SET prev_hash = %s, hash = %s WHERE id = %s",
                    [head, new, row[0]],
                )
                head = new
            cursor.execute(SQLITE_TRIGGER)


def backward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(DROP_POSTGRES, params=None)
    elif connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS cases_caseevent_chain", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0005_clock_unit_label'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='caseevent',
            name='hash',
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name='hash'),
        ),
        migrations.AddField(
            model_name='caseevent',
            name='prev_hash',
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name='previous hash'),
        ),
        migrations.AddIndex(
            model_name='caseevent',
            index=models.Index(fields=['application', 'id'], name='caseevent_chain'),
        ),
        migrations.RunPython(forward, backward),
    ]
