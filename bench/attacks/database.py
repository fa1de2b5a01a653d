"""Row-level security on PostgreSQL: the application's own database role, connected directly (a SQL injection
that got through, a stolen connection string), acting for one business, reads and writes another's rows."""

from __future__ import annotations

from bench.attacks import Outcome, Target, attack, breached, held


@attack("database", "read-another-tenants-rows-as-the-app-role", needs=("postgres",))
def rls_read(t: Target) -> Outcome:
    import psycopg
    from sqlalchemy.engine import make_url

    from leadapp.core import db_roles

    admin = make_url(t.env["DATABASE_URL"])
    app_user = db_roles.role_names(admin.database or "")[1]
    with psycopg.connect(
        host=admin.host or "127.0.0.1", port=admin.port or 5432, user=admin.username, dbname=admin.database
    ) as conn:
        conn.execute(f'SET ROLE "{app_user}"')
        conn.execute("SELECT set_config('app.role', 'business_owner', false)")
        conn.execute("SELECT set_config('app.user_id', %s, false)", (str(t.world["user_electrician"]),))
        conn.execute("SELECT set_config('app.business_ids', %s, false)", (str(t.world["business_electrician"]),))
        leads = conn.execute("SELECT count(*) FROM leads WHERE id = %s", (t.world["lead_a"],)).fetchone()[0]
        plumber = (t.world["business_plumber"],)
        matches = conn.execute("SELECT count(*) FROM matches WHERE business_id = %s", plumber).fetchone()[0]
        calls = conn.execute("SELECT count(*) FROM calls WHERE business_id = %s", plumber).fetchone()[0]
        updated = conn.execute("UPDATE matches SET status = 'accepted' WHERE id = %s", (t.world["match_a"],)).rowcount
        conn.rollback()
    if leads or matches or calls or updated:
        return breached(f"saw {leads} lead, {matches} matches, {calls} calls; updated {updated}")
    return held("as the app role for the rival business: 0 rows of the plumber's, nothing updated")
