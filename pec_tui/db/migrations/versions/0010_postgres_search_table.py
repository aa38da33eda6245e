"""word search on PostgreSQL: one narrow table holding what a search reads

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Migration 0008 put pg_trgm GIN indexes on `pec_fold(mailbox.address)` and
`pec_fold(holder.display_name)`. A search matching thousands of mailboxes then visited
`mailbox` for every match to read its sort key, and `holder` then `mailbox` again for the
names: about 75,000 buffer accesses for "ann" (31,838 matches at a million mailboxes). Here
each mailbox has one narrow row in `mailbox_search`: id, reseller, expiry and `words`, the
folded address and holder's name in one text (a newline between them, which a search never
holds, so a match lies wholly in one or the other). One trigram index sits on `words`, the
test of a match is a plain LIKE on text already folded (`pec_fold` on each candidate cost
a third of the search), and a search reads nothing else. Statement triggers with transition tables keep it in step with `mailbox` (insert,
update, delete, truncate) and with `holder` (a new name), one statement each however many
rows (without JIT: the planner knows nothing of a transition table's size, and compiling
its guess took seconds). A payment's new expiries are HOT updates here: no index of the table holds the expiry
(and `fillfactor` leaves each page room for them).

The two GIN indexes leave `mailbox` and `holder`: every non-HOT update of a mailbox (a new
expiry is one) wrote an entry in the address's. SQLite keeps its FTS5 tables (0008).
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = """
CREATE TABLE mailbox_search (
    id integer PRIMARY KEY,
    reseller_id integer,
    expiry date NOT NULL,
    words text NOT NULL
) WITH (fillfactor = 85)
"""
_FILL = """
INSERT INTO mailbox_search (id, reseller_id, expiry, words)
SELECT m.id, m.reseller_id, m.expiry, pec_search_words(m.address, h.display_name)
FROM mailbox m JOIN holder h ON h.id = m.holder_id
"""
_WORDS_FUNCTION = """
CREATE FUNCTION pec_search_words(address text, holder_name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT pec_fold(address) || E'\\n' || pec_fold(holder_name) $$
"""
_FUNCTIONS = """
CREATE FUNCTION pec_search_mailbox_inserted() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    INSERT INTO mailbox_search (id, reseller_id, expiry, words)
    SELECT n.id, n.reseller_id, n.expiry, pec_search_words(n.address, h.display_name)
    FROM new_rows n JOIN holder h ON h.id = n.holder_id;
    RETURN NULL;
END $$;

CREATE FUNCTION pec_search_mailbox_updated() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    UPDATE mailbox_search s
    SET reseller_id = n.reseller_id, expiry = n.expiry,
        words = CASE WHEN n.holder_id = o.holder_id AND n.address = o.address THEN s.words
                     ELSE (SELECT pec_search_words(n.address, h.display_name)
                           FROM holder h WHERE h.id = n.holder_id)
                END
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE s.id = n.id
      AND (n.expiry, n.address, n.holder_id, n.reseller_id)
          IS DISTINCT FROM (o.expiry, o.address, o.holder_id, o.reseller_id);
    RETURN NULL;
END $$;

CREATE FUNCTION pec_search_mailbox_deleted() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    DELETE FROM mailbox_search s USING old_rows o WHERE s.id = o.id;
    RETURN NULL;
END $$;

CREATE FUNCTION pec_search_mailbox_truncated() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    TRUNCATE mailbox_search;
    RETURN NULL;
END $$;

CREATE FUNCTION pec_search_holder_renamed() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    UPDATE mailbox_search s SET words = pec_search_words(m.address, n.display_name)
    FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN mailbox m ON m.holder_id = n.id
    WHERE s.id = m.id AND n.display_name IS DISTINCT FROM o.display_name;
    RETURN NULL;
END $$;
"""
_TRIGGERS = (
    "CREATE TRIGGER pec_search_mailbox_ai AFTER INSERT ON mailbox "
    "REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION pec_search_mailbox_inserted()",
    "CREATE TRIGGER pec_search_mailbox_au AFTER UPDATE ON mailbox "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION pec_search_mailbox_updated()",
    "CREATE TRIGGER pec_search_mailbox_ad AFTER DELETE ON mailbox "
    "REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION pec_search_mailbox_deleted()",
    "CREATE TRIGGER pec_search_mailbox_at AFTER TRUNCATE ON mailbox "
    "FOR EACH STATEMENT EXECUTE FUNCTION pec_search_mailbox_truncated()",
    "CREATE TRIGGER pec_search_holder_au AFTER UPDATE ON holder "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION pec_search_holder_renamed()",
)
_FUNCTION_NAMES = (
    "pec_search_mailbox_inserted",
    "pec_search_mailbox_updated",
    "pec_search_mailbox_deleted",
    "pec_search_mailbox_truncated",
    "pec_search_holder_renamed",
)


def _gin_ops() -> str:
    schema = (
        op.get_bind()
        .exec_driver_sql(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
        .scalar_one()
    )
    return '"' + str(schema).replace('"', '""') + '".gin_trgm_ops'


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    ops = _gin_ops()
    bind.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    bind.exec_driver_sql("DROP INDEX IF EXISTS ix_search_mailbox_address")
    bind.exec_driver_sql("DROP INDEX IF EXISTS ix_search_holder_name")
    bind.exec_driver_sql(_TABLE)
    bind.exec_driver_sql(_WORDS_FUNCTION)
    bind.exec_driver_sql(_FILL)
    bind.exec_driver_sql(f"CREATE INDEX ix_mailbox_search_words ON mailbox_search USING gin (words {ops})")
    bind.exec_driver_sql(_FUNCTIONS)
    for statement in _TRIGGERS:
        bind.exec_driver_sql(statement)
    bind.exec_driver_sql("ANALYZE mailbox_search")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    ops = _gin_ops()
    bind.exec_driver_sql("DROP TRIGGER IF EXISTS pec_search_holder_au ON holder")
    for when in ("ai", "au", "ad", "at"):
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS pec_search_mailbox_{when} ON mailbox")
    for name in _FUNCTION_NAMES:
        bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")
    bind.exec_driver_sql("DROP TABLE IF EXISTS mailbox_search")
    bind.exec_driver_sql("DROP FUNCTION IF EXISTS pec_search_words(text, text)")
    bind.exec_driver_sql(
        f"CREATE INDEX ix_search_mailbox_address ON mailbox USING gin (pec_fold(address) {ops})"
    )
    bind.exec_driver_sql(
        f"CREATE INDEX ix_search_holder_name ON holder USING gin (pec_fold(display_name) {ops})"
    )
