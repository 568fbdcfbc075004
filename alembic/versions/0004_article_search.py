"""article search: English full text, Chinese bigrams, trigram substrings

``search_articles(q)`` finds articles whose title or summary match ``q``:

* Latin-script words go through English full-text search (stemmed: "controls" finds
  "control"; websearch syntax: "quoted phrases", OR, -excluded), on a GIN index of
  ``article_tsvector(title, summary)``. Han characters are left out of that vector, so a
  Latin word inside Chinese text (H20 in 英伟达H20) is a word of its own.
* Han-script runs must each appear as a substring. The GIN index on ``han_bigrams(...)``
  (every pair of adjacent Han characters, as numbers: integer keys index and compare much
  faster than text) narrows the candidates, a LIKE confirms. Bigrams rather than pg_trgm's
  trigrams because the common Chinese words are two characters long (算力, 芯片, 监管),
  which trigrams cannot index.
* pg_trgm indexes ``article_text(title, summary)`` for ad hoc substring queries
  (``ILIKE '%DeepSeek-R1%'``), any script, three characters or more.

Limits: one-character Han terms match but scan the table; no Traditional/Simplified
folding (search 芯片 and 晶片 separately); English stemming only (no Chinese word
segmentation: 人工智能 also matches 非人工智能).

ANALYZE gathers no statistics on the three search expressions (``SET STATISTICS 0``): it
would compute them for 30,000 sampled articles every time, seconds of CPU, and the
planner's default estimate (a search is selective) picks these indexes anyway.

PostgreSQL only (SQLite has none of these). The pg_trgm extension is left installed on
downgrade: it may serve other objects and costs nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HAN = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"

FUNCTIONS = [
    (
        "article_text(title text, summary text)",
        "The searchable text of an article: title, a newline, summary. Indexed for trigram search.",
        """RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT coalesce(title, '') || E'\\n' || coalesce(summary, '')
        $$""",
    ),
    (
        "article_tsvector(title text, summary text)",
        "English full-text vector of an article's title and summary, Han characters left out (GIN-indexed): "
        "article_tsvector(title, summary) @@ websearch_to_tsquery('english', '...').",
        f"""RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT to_tsvector('english'::regconfig, regexp_replace(public.article_text(title, summary), '{HAN}+', ' ', 'g'))
        $$""",
    ),
    (
        "han_bigrams(body text)",
        "Every pair of adjacent Han characters in the text, each as a number (first code point * 1114112 "
        "+ second), GIN-indexed over article_text so two-character Chinese words can be found by index.",
        f"""RETURNS bigint[] LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 500 AS $$
            SELECT CASE WHEN body !~ '{HAN}' THEN '{{}}'::bigint[] ELSE (
                SELECT coalesce(array_agg(ascii(run.chars[i])::bigint * 1114112 + ascii(run.chars[i + 1])), '{{}}')
                FROM (
                    SELECT string_to_array(m[1], NULL) AS chars
                    FROM regexp_matches(body, '({HAN}{{2,}})', 'g') AS m
                ) AS run
                CROSS JOIN LATERAL generate_series(1, cardinality(run.chars) - 1) AS i
            ) END
        $$""",
    ),
    (
        "search_han_patterns(q text)",
        "LIKE patterns ('%run%') for each run of Han characters in a search query.",
        f"""RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT coalesce(array_agg('%' || m[1] || '%'), '{{}}')
            FROM regexp_matches(q, '({HAN}+)', 'g') AS m
        $$""",
    ),
    (
        "search_english_query(q text)",
        "English tsquery of the non-Han part of a search query (websearch syntax); NULL when it has no words.",
        f"""RETURNS tsquery LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT CASE WHEN rest ~ '[[:alnum:]]' THEN websearch_to_tsquery('english'::regconfig, rest) END
            FROM (SELECT regexp_replace(q, '{HAN}+', ' ', 'g') AS rest) AS latin
        $$""",
    ),
    (
        "search_articles(q text, max_rows integer DEFAULT 100)",
        "Articles matching q, newest first: English words by full-text search, Chinese runs by "
        "substring (bigram index). Every part of q must match. See docs/admin.md for limits.",
        """RETURNS TABLE (article_id integer, published_at timestamptz, language varchar, title text,
                          url text, feed_id integer, story_id integer)
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
            SELECT a.id, a.published_at, a.language, a.title, a.url, a.feed_id, a.story_id
            FROM public.articles a
            WHERE (cardinality(public.search_han_patterns(q)) = 0
                   OR (public.han_bigrams(public.article_text(a.title, a.summary)) @> public.han_bigrams(q)
                       AND public.article_text(a.title, a.summary) LIKE ALL (public.search_han_patterns(q))))
              AND (coalesce(numnode(public.search_english_query(q)), 0) = 0
                   OR public.article_tsvector(a.title, a.summary) @@ public.search_english_query(q))
            ORDER BY a.published_at DESC, a.id DESC
            LIMIT max_rows
        $$""",
    ),
]
# search_articles is inlined into the caller's query, so with a literal q the planner drops the
# branches that do not apply and uses the matching index. Function bodies name schema public
# explicitly: pg_restore rebuilds the indexes with an empty search_path.

INDEXES = {
    "ix_articles_text_tsvector": "USING gin (article_tsvector(title, summary))",
    "ix_articles_text_han_bigrams": "USING gin (han_bigrams(article_text(title, summary)))",
    "ix_articles_text_trgm": "USING gin (article_text(title, summary) gin_trgm_ops)",
}


def _signature(declaration: str) -> str:
    """``search_articles(q text, max_rows integer DEFAULT 100)`` -> ``search_articles(text, integer)``."""
    name, params = declaration.split("(", 1)
    types = [p.split()[1] for p in params.rstrip(")").split(",") if p.strip()]
    return f"{name}({', '.join(types)})"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for declaration, comment, body in FUNCTIONS:
        op.execute(f"CREATE FUNCTION {declaration} {body}")
        op.execute(f"COMMENT ON FUNCTION {_signature(declaration)} IS {_quote(comment)}")
    for name, definition in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON articles {definition}")
        op.execute(f"ALTER INDEX {name} ALTER COLUMN 1 SET STATISTICS 0")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for declaration, _comment, _body in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION IF EXISTS {_signature(declaration)}")
