"""Migration 0007 (R27): accounts that exist already have had a customer link since their creation, and the
events technicians made before it say so (by: "technician"); the server's own stay by nobody."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from license_server import migrations


def test_existing_accounts_get_a_link_from_their_creation_and_events_their_maker(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        migrations.upgrade(engine, "0005")
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO partners (name, created_at) VALUES ('Acme', 1)"))
            connection.execute(text(
                "INSERT INTO accounts (id, partner, name, contact_email, cloud_contract, language, revision, as_of, "
                "balance_ticks, rate_ticks_per_s, suspended, deleted, last_activity_at, created_at) VALUES "
                "('6c1d2f3e-0000-4000-8000-000000000001', 'Acme', 'Émile', 'e@example.com', FALSE, 'fr', 3, 10, 0, "
                "0, FALSE, FALSE, 10, 1790000000)"))
            connection.execute(text(
                "INSERT INTO history (account_id, at, kind, technician, op_id, params) VALUES "
                "('6c1d2f3e-0000-4000-8000-000000000001', 5, 'key-loaded', 'Ann', NULL, '{}'), "
                "('6c1d2f3e-0000-4000-8000-000000000001', 6, 'suspended', NULL, NULL, '{}')"))
        migrations.upgrade(engine)
        with engine.connect() as connection:
            row = connection.execute(text("SELECT customer_link_generation, customer_link_at FROM accounts")).one()
            assert tuple(row) == (0, 1790000000)
            assert connection.execute(text("SELECT kind, actor FROM history ORDER BY at")).all() == [
                ("key-loaded", "technician"), ("suspended", None)]
    finally:
        engine.dispose()
