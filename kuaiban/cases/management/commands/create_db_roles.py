"""The two PostgreSQL roles of a production database: an **owner** that owns the schema and
every table (migrations run as it: `DATABASE_MIGRATE_URL`) and the **application** role the
portal runs as (`DATABASE_URL`), which owns nothing. The application may read and write the
tables, but on the append-only logs only SELECT and INSERT: UPDATE, DELETE and TRUNCATE are not
granted, and as it owns no table it cannot `ALTER TABLE … DISABLE TRIGGER` either.

    # once, as a superuser (or a role with CREATEROLE that owns the database):
    manage.py create_db_roles --owner kuaiban_owner --app kuaiban_app
    # after every migrate, as the owner (scripts/serve does it when DATABASE_MIGRATE_URL is set):
    manage.py create_db_roles --app kuaiban_app --grants-only

Passwords come from KUAIBAN_DB_OWNER_PASSWORD and KUAIBAN_DB_APP_PASSWORD when the roles are
created (a role that exists keeps its password). Everything is idempotent.
"""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg2 import sql  # type: ignore[import-untyped]

# Tables the application may only read and append to.
APPEND_ONLY = (
    "cases_caseevent",
    "cases_accesslog",
    "accounts_securityevent",
    "ratings_rating",
    "documents_resultdocument",
    "commitments_checkevent",
    "campaigns_campaignevent",
    "precheck_precheckfinding",
    "precheck_precheckverdict",
)


def grant_statements(app: str) -> list[sql.Composable]:
    role = sql.Identifier(app)
    statements: list[sql.Composable] = [
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
            sql.Identifier(connection.settings_dict["NAME"]), role
        ),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            role
        ),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role),
        sql.SQL(
            "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {}"
        ).format(role),
        # Tables the owner creates later (the next migrations) get the same grants.
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
        ).format(role),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(role),
    ]
    for table in APPEND_ONLY:
        statements.append(
            sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
                sql.Identifier(table), role
            )
        )
    return statements


def _run(cursor, statement: sql.Composable) -> None:
    cursor.execute(statement.as_string(cursor.cursor))


def _role_exists(cursor, name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
    return cursor.fetchone() is not None


def _create_role(cursor, name: str, password: str | None) -> bool:
    if _role_exists(cursor, name):
        return False
    statement = sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name))
    if password:
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
    _run(cursor, statement)
    return True


def hand_to_owner(cursor, owner: str) -> int:
    """The schema and every table, sequence, view and function in it now belong to `owner`."""
    role = sql.Identifier(owner)
    _run(cursor, sql.SQL("ALTER SCHEMA public OWNER TO {}").format(role))
    cursor.execute(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')"
    )
    kinds = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}
    objects = cursor.fetchall()
    for name, kind in objects:
        if kind == "S":
            # An identity or serial sequence follows its table.
            cursor.execute(
                "SELECT 1 FROM pg_depend d JOIN pg_class s ON s.oid = d.objid "
                "WHERE s.relname = %s AND d.deptype IN ('a', 'i')",
                [name],
            )
            if cursor.fetchone():
                continue
        _run(
            cursor,
            sql.SQL("ALTER {} {} OWNER TO {}").format(
                sql.SQL(kinds[kind]), sql.Identifier(name), role
            ),
        )
    cursor.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
    )
    for (signature,) in cursor.fetchall():
        _run(cursor, sql.SQL("ALTER FUNCTION {} OWNER TO {}").format(sql.SQL(signature), role))
    return len(objects)


class Command(BaseCommand):
    help = "Create the database's owner and application roles and the application's grants."

    def add_arguments(self, parser):
        parser.add_argument("--owner", help="the role that owns the schema (migrations run as it)")
        parser.add_argument("--app", required=True, help="the role the portal runs as")
        parser.add_argument(
            "--grants-only",
            action="store_true",
            help="only (re)grant the application role, as the owner after a migration",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database roles are PostgreSQL's; this database is not.")
        app, owner = options["app"], options["owner"]
        if not options["grants_only"] and not owner:
            raise CommandError("Name the owner role (--owner), or use --grants-only.")
        if owner == app:
            raise CommandError("The owner and the application role must be different roles.")
        with transaction.atomic(), connection.cursor() as cursor:
            if not options["grants_only"]:
                for name, variable in ((owner, "OWNER"), (app, "APP")):
                    password = os.environ.get(f"KUAIBAN_DB_{variable}_PASSWORD")
                    created = _create_role(cursor, name, password)
                    self.stdout.write(f"Role {name}: {'created' if created else 'already there'}.")
                count = hand_to_owner(cursor, owner)
                self.stdout.write(f"{count} tables, views and sequences now owned by {owner}.")
                _run(
                    cursor,
                    sql.SQL(
                        "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                        "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
                    ).format(sql.Identifier(owner), sql.Identifier(app)),
                )
                _run(
                    cursor,
                    sql.SQL(
                        "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                        "GRANT USAGE, SELECT ON SEQUENCES TO {}"
                    ).format(sql.Identifier(owner), sql.Identifier(app)),
                )
            for statement in grant_statements(app):
                _run(cursor, statement)
        self.stdout.write(
            f"{app} may read and write the tables; on {', '.join(APPEND_ONLY)} only SELECT and "
            "INSERT."
        )
