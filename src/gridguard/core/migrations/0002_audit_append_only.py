"""Make the audit table append-only inside the database: UPDATE and DELETE are refused."""

from django.db import migrations

SQLITE = [
    "CREATE TRIGGER core_auditentry_no_update BEFORE UPDATE ON core_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;",
    "CREATE TRIGGER core_auditentry_no_delete BEFORE DELETE ON core_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS core_auditentry_no_update;",
    "DROP TRIGGER IF EXISTS core_auditentry_no_delete;",
]
POSTGRES = [
    "CREATE OR REPLACE FUNCTION core_audit_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit entries are append-only'; END; $$ LANGUAGE plpgsql;",
    "CREATE TRIGGER core_auditentry_append_only BEFORE UPDATE OR DELETE ON core_auditentry "
    "FOR EACH ROW EXECUTE FUNCTION core_audit_append_only();",
    "CREATE TRIGGER core_auditentry_no_truncate BEFORE TRUNCATE ON core_auditentry "
    "FOR EACH STATEMENT EXECUTE FUNCTION core_audit_append_only();",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS core_auditentry_append_only ON core_auditentry;",
    "DROP TRIGGER IF EXISTS core_auditentry_no_truncate ON core_auditentry;",
    "DROP FUNCTION IF EXISTS core_audit_append_only();",
]


def forwards(apps, schema_editor):
    sql = POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE
    for statement in sql:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    sql = POSTGRES_DROP if schema_editor.connection.vendor == "postgresql" else SQLITE_DROP
    for statement in sql:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
