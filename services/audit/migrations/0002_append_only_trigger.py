"""On PostgreSQL, make audit entries append-only in the database itself: a trigger refuses every
UPDATE, DELETE and TRUNCATE of the table, whoever sends it (the ORM, the admin, psql).

Django's test databases (named ``test_…``) still allow TRUNCATE, because that is how Django empties
the tables between transactional tests; setting ``cityai.audit_guard = 'strict'`` in a session
restores the refusal there (the tests use it to check TRUNCATE). Other databases skip this.
"""

from django.db import migrations

FUNCTION = "audit_entry_append_only"
ROW_TRIGGER = "audit_entry_no_update_delete"
TRUNCATE_TRIGGER = "audit_entry_no_truncate"

FORWARD = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND current_database() LIKE 'test\\_%'
       AND coalesce(current_setting('cityai.audit_guard', true), '') <> 'strict' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit_auditentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit entries are never changed or removed; append a new entry instead.';
END;
$$;
CREATE TRIGGER {ROW_TRIGGER} BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION {FUNCTION}();
CREATE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}();
"""

BACKWARD = f"""
DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON audit_auditentry;
DROP TRIGGER IF EXISTS {ROW_TRIGGER} ON audit_auditentry;
DROP FUNCTION IF EXISTS {FUNCTION}();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD))]
