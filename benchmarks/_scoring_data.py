"""The scoring benchmark's synthetic datamart, generated directly with DuckDB SQL.

Everything is derived from ``hash(..., SEED)`` of row numbers, so a scale gives the same rows on
every run (with the same DuckDB version).  The schema is the real one (``migrate``); the rows
skip the CSV ingest path, which has its own benchmark.

Shapes: a quarter of the customers have no events, the others a log-normal share of them (a few
power users have thousands); events come in sessions of one to six on a customer's active days
over the year before the as-of date; a customer's recency is exponential (mean 45 days);
properties are JSON text on most page views, e-mail clicks, searches and cart events.  About 3%
of events are anonymous.  Third-party attributes cover 30-40% of customers, with older and
not-yet-valid records for some; 1% of customers are merged in pairs by identity.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

SEED = 11
AS_OF = dt.date(2026, 1, 1)
ANONYMOUS_SHARE = 0.03

REGIONS = (
    ("San José", 0.35, "San José"),
    ("Alajuela", 0.55, "Alajuela"),
    ("Cartago", 0.66, "Cartago"),
    ("Heredia", 0.76, "Heredia"),
    ("Guanacaste", 0.84, "Liberia"),
    ("Puntarenas", 0.93, "Puntarenas"),
    ("Limón", 0.98, "Limón"),
)
DOMAINS = (
    ("gmail.com", 0.35),
    ("hotmail.com", 0.53),
    ("yahoo.com", 0.61),
    ("outlook.com", 0.70),
    ("rivaltoys.com", 0.715),
    ("competitor.io", 0.725),
)
# Cumulative shares of event types (e-mail events go to page views for customers who do not
# read their e-mail).
EVENT_TYPES = (
    ("page_view", 0.42),
    ("email_open", 0.57),
    ("email_click", 0.62),
    ("form_submit", 0.635),
    ("app_session", 0.76),
    ("search", 0.86),
    ("cart_add", 0.94),
    ("cart_abandon", 1.0),
)
INTERACTION_KINDS = (
    ("contact", 0.25),
    ("offer", 0.45),
    ("response", 0.57),
    ("call", 0.69),
    ("complaint", 0.77),
    ("incident", 0.81),
    ("return", 0.85),
    ("visit", 0.95),
    ("message", 1.0),
)
INTERESTS = (
    "toys;parenting",
    "sports;outdoor",
    "travel",
    "tech;gaming",
    "cooking;home",
    "parenting;books",
    "fashion",
    "kids;crafts",
)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _pick(u: str, choices: tuple[tuple[str, float], ...], otherwise: str = "NULL") -> str:
    """A CASE that picks by cumulative share of a uniform ``u``."""
    arms = " ".join(f"WHEN {u} < {share} THEN {_q(value)}" for value, share in choices)
    return f"CASE {arms} ELSE {otherwise} END"


def _element(items: tuple[str, ...], u: str) -> str:
    values = ", ".join(_q(i) for i in items)
    return f"[{values}][1 + floor({u} * {len(items)})::INTEGER]"


def _ts(seconds_before_as_of: str) -> str:
    return f"(TIMESTAMP '{AS_OF.isoformat()}' - to_seconds(({seconds_before_as_of})::BIGINT))"


def statements(customers: int, events: int) -> list[tuple[str, str]]:
    """(label, SQL) to run in order on a freshly migrated datamart."""
    n, known = customers, round(events * (1 - ANONYMOUS_SHARE))
    anonymous = events - known
    region = _pick("ur", tuple((name, share) for name, share, _ in REGIONS))
    city = _pick("ur", tuple((c, share) for _, share, c in REGIONS))
    domain = _pick("ud", DOMAINS, "'mail' || (n % 4000)::VARCHAR || '.example.com'")
    event_type = " ".join(
        f"WHEN ut < {share} THEN "
        + (
            f"CASE WHEN reads_email THEN {_q(name)} ELSE 'page_view' END"
            if "email" in name
            else _q(name)
        )
        for name, share in EVENT_TYPES
    )
    page = (
        "CASE WHEN up < 0.15 THEN '/landing/' || "
        + _element(
            (
                "spring-sale",
                "summer-camp",
                "back-to-school",
                "black-friday",
                "christmas",
                "new-baby",
            ),
            "uo",
        )
        + " WHEN up < 0.60 THEN '/p/SKU-' || (1 + floor(uo * uo * 5000))::INTEGER::VARCHAR"
        " WHEN up < 0.70 THEN '/checkout' WHEN up < 0.80 THEN '/cart' ELSE '/c/' || "
        + _element(("toys", "puzzles", "dolls", "outdoor", "books", "baby"), "uo")
        + " END"
    )
    campaign = (
        "CASE WHEN uc < 0.5 THEN 'promo-' ELSE 'news-' END || lpad((1 + floor(uo * 52))"
        "::INTEGER::VARCHAR, 2, '0')"
    )
    sku = "'SKU-' || (1 + floor(uo * uo * 5000))::INTEGER::VARCHAR"
    form = _element(("newsletter-signup", "contact", "birthday-club", "store-visit"), "uo")
    term = _element(
        ("lego city", "baby doll", "puzzle 1000", "scooter", "board games", "Lego Friends", "crib"),
        "uq",
    )
    interaction_kind = _pick("uk", INTERACTION_KINDS)
    # Sessions of ``session_length`` events on a day between the customer's recency and a year
    # ago, each event within half an hour of the session's start.
    event_time = _ts(
        "floor((recency_days + _u(n * 1000003 + i // session_length, 'day')"
        " * (364 - recency_days)) * 86400) + 3600 - floor(_u(eid, 'minute') * 1800)"
    )
    return [
        (
            "helpers",
            f"CREATE OR REPLACE TEMP MACRO _u(a, b) AS hash(a, b, {SEED}) / 18446744073709551616.0",
        ),
        (
            "customer plan",
            f"""
            CREATE OR REPLACE TEMP TABLE _g_customers AS
            WITH base AS (
                SELECT i AS n,
                       CASE WHEN _u(i, 'active') < 0.25 THEN 0.0
                            ELSE exp(1.1 * sqrt(-2 * ln(greatest(_u(i, 'z1'), 1e-12)))
                                     * cos(2 * pi() * _u(i, 'z2'))) END AS w
                FROM range(1, {n + 1}) t(i)
            ), cumulative AS (
                SELECT n, sum(w) OVER (ORDER BY n ROWS UNBOUNDED PRECEDING) AS cw,
                       sum(w) OVER () AS tw
                FROM base
            ), bounds AS (
                SELECT n, CASE WHEN n = {n} THEN {known}
                               ELSE least(floor({known} * cw / tw)::BIGINT, {known}) END AS hi
                FROM cumulative
            )
            SELECT n,
                   'C' || lpad(n::VARCHAR, 7, '0') AS customer_id,
                   coalesce(lag(hi) OVER (ORDER BY n), 0) AS lo,
                   hi - coalesce(lag(hi) OVER (ORDER BY n), 0) AS n_events,
                   least(-ln(greatest(_u(n, 'recency'), 1e-12)) * 45, 300) AS recency_days,
                   1 + floor(_u(n, 'session') * 6)::INTEGER AS session_length,
                   _u(n, 'email') < 0.55 AS reads_email,
                   0.2 + 0.6 * _u(n, 'mobile') AS mobile_share
            FROM bounds
            """,
        ),
        (
            "customers",
            f"""
            INSERT INTO customers
            SELECT customer_id,
                   CASE WHEN uk < 0.97 THEN 'person' ELSE 'company' END,
                   'Customer ' || n::VARCHAR,
                   CASE WHEN ue < 0.05 THEN NULL
                        WHEN ue < 0.15 THEN 'User' || n::VARCHAR || '@' || upper({domain})
                        ELSE 'user' || n::VARCHAR || '@' || {domain} END,
                   '+506 ' || (80000000 + n)::VARCHAR,
                   CASE WHEN ub < 0.06 THEN NULL
                        ELSE DATE '1946-01-01' + floor(ub * 365.25 * 60)::INTEGER END,
                   CASE WHEN ug < 0.48 THEN 'female' WHEN ug < 0.95 THEN 'male'
                        WHEN ug < 0.96 THEN 'other' ELSE 'unknown' END,
                   'Calle ' || (n % 97)::VARCHAR,
                   (10000 + n % 900)::VARCHAR,
                   {city},
                   {region},
                   CASE WHEN uc < 0.92 THEN 'CR' WHEN uc < 0.95 THEN 'PA' WHEN uc < 0.97 THEN 'NI'
                        WHEN uc < 0.99 THEN 'US' ELSE NULL END,
                   NULL, NULL, NULL, NULL,
                   {_ts("floor(us * 4 * 365 * 86400) + 86400")},
                   {_ts("floor(us * 2 * 365 * 86400) + 86400")},
                   false
            FROM (
                SELECT n, customer_id, _u(n, 'kind') AS uk, _u(n, 'mail') AS ue,
                       _u(n, 'domain') AS ud, _u(n, 'birth') AS ub, _u(n, 'gender') AS ug,
                       _u(n, 'region') AS ur, _u(n, 'country') AS uc, _u(n, 'signup') AS us
                FROM _g_customers
            )
            """,
        ),
        (
            "identity",
            """
            INSERT INTO identity
            SELECT customer_id,
                   CASE WHEN n % 2 = 0 AND _u(n // 2, 'merge') < 0.01
                        THEN 'C' || lpad((n - 1)::VARCHAR, 7, '0') ELSE customer_id END,
                   TIMESTAMP '2025-12-31 03:00:00'
            FROM _g_customers
            """,
        ),
        (
            "identity merges",
            """
            INSERT INTO identity_merges
            SELECT 'M' || customer_id, profile_id, customer_id, 'email',
                   'user' || customer_id || '@gmail.com', updated_at, NULL
            FROM identity WHERE profile_id <> customer_id
            """,
        ),
        (
            "events",
            f"""
            INSERT INTO events
            SELECT 'E' || lpad(eid::VARCHAR, 9, '0'), customer_id, NULL, occurred_at,
                   event_type,
                   CASE event_type
                        WHEN 'page_view' THEN page
                        WHEN 'email_open' THEN campaign WHEN 'email_click' THEN campaign
                        WHEN 'form_submit' THEN form
                        WHEN 'cart_add' THEN sku WHEN 'cart_abandon' THEN sku END,
                   CASE WHEN event_type LIKE 'email%' THEN 'email'
                        WHEN event_type = 'app_session' THEN 'app'
                        WHEN device = 'mobile' THEN 'mobile_web' ELSE 'web' END,
                   CASE event_type
                        WHEN 'page_view' THEN CASE WHEN uq < 0.8 THEN
                            '{{"page": "' || page || '", "device": "' || device || '"'
                            || CASE WHEN uc < 0.15 THEN ', "utm": "newsletter"'
                                    WHEN uc < 0.25 THEN ', "utm": "ads"' ELSE '' END || '}}' END
                        WHEN 'email_open' THEN CASE WHEN uq < 0.5 THEN
                            '{{"campaign": "' || campaign || '"}}' END
                        WHEN 'email_click' THEN '{{"campaign": "' || campaign || '", "link": "'
                            || CASE WHEN uq < 0.7 THEN 'cta' ELSE 'footer' END || '"}}'
                        WHEN 'search' THEN '{{"query": "' || {term} || '", "results": '
                            || floor(up * 60)::INTEGER::VARCHAR || '}}'
                        WHEN 'cart_add' THEN '{{"product": "' || sku || '", "price": '
                            || round(4.99 + up * up * 140, 2)::VARCHAR || ', "device": "'
                            || device || '"}}'
                        WHEN 'cart_abandon' THEN '{{"items": '
                            || (1 + floor(up * 5))::INTEGER::VARCHAR || ', "value": '
                            || round(10 + up * 200, 2)::VARCHAR || '}}'
                        WHEN 'form_submit' THEN '{{"form": "' || {form} || '"}}'
                        WHEN 'app_session' THEN CASE WHEN uq < 0.5 THEN '{{"duration": '
                            || floor(up * 1200)::INTEGER::VARCHAR || ', "os": "'
                            || CASE WHEN uc < 0.6 THEN 'android' ELSE 'ios' END || '"}}' END
                   END
            FROM (
                SELECT *, {page} AS page, {campaign} AS campaign, {sku} AS sku,
                       {form} AS form
                FROM (
                    SELECT *,
                           CASE {event_type} END AS event_type,
                           CASE WHEN ud < mobile_share THEN 'mobile'
                                WHEN ud < mobile_share + 0.1 THEN 'tablet'
                                ELSE 'desktop' END AS device,
                           {event_time} AS occurred_at
                    FROM (
                        SELECT c.n, c.customer_id, c.recency_days, c.session_length,
                               c.reads_email, c.mobile_share, r.i, c.lo + r.i AS eid,
                               _u(c.lo + r.i, 'type') AS ut, _u(c.lo + r.i, 'object') AS uo,
                               _u(c.lo + r.i, 'page') AS up, _u(c.lo + r.i, 'props') AS uq,
                               _u(c.lo + r.i, 'device') AS ud, _u(c.lo + r.i, 'campaign') AS uc
                        FROM _g_customers c, range(c.n_events) r(i)
                    )
                )
            )
            """,
        ),
        (
            "anonymous events",
            f"""
            INSERT INTO events
            SELECT 'E' || lpad(({known} + i)::VARCHAR, 9, '0'), NULL,
                   'anon-' || (hash(i, {SEED}) % 400000)::VARCHAR,
                   {_ts("floor(_u(i, 'when') * 364 * 86400) + 3600")},
                   CASE WHEN _u(i, 'type') < 0.8 THEN 'page_view' ELSE 'search' END,
                   NULL, 'web',
                   CASE WHEN _u(i, 'type') < 0.8 THEN '{{"page": "/landing/spring-sale"}}' END
            FROM range({anonymous}) t(i)
            """,
        ),
        (
            "interactions",
            f"""
            INSERT INTO interactions
            SELECT 'I' || n::VARCHAR || '-' || i::VARCHAR, customer_id, occurred_at, kind,
                   CASE WHEN kind IN ('call', 'complaint', 'incident') AND uo < 0.5 THEN 'phone'
                        WHEN kind IN ('visit', 'return') THEN 'store' ELSE 'email' END,
                   CASE WHEN kind IN ('complaint', 'incident', 'return')
                        THEN CASE WHEN us < 0.3 THEN 'open' ELSE 'closed' END
                        WHEN kind = 'call' THEN 'closed' END,
                   CASE kind WHEN 'response' THEN CASE WHEN uo < 0.4 THEN 'accepted'
                                                       ELSE 'declined' END
                             WHEN 'offer' THEN 'sent'
                             WHEN 'call' THEN CASE WHEN uo < 0.7 THEN 'answered'
                                                   ELSE 'no_answer' END END,
                   CASE WHEN kind IN ('complaint', 'incident', 'return') AND us >= 0.3
                        THEN occurred_at + to_seconds((86400 + floor(us * 864000))::BIGINT) END,
                   CASE WHEN kind IN ('offer', 'response')
                        THEN 'CMP-' || (1 + floor(uo * 12))::INTEGER::VARCHAR END,
                   CASE WHEN kind IN ('offer', 'response')
                        THEN 'OF-' || (1 + floor(uo * 40))::INTEGER::VARCHAR END,
                   NULL
            FROM (
                SELECT *, {interaction_kind} AS kind,
                       {_ts("floor(uw * 364 * 86400) + 3600")} AS occurred_at
                FROM (
                    SELECT c.n, c.customer_id, r.i, _u(c.n * 100 + r.i, 'ikind') AS uk,
                           _u(c.n * 100 + r.i, 'iwhen') AS uw,
                           _u(c.n * 100 + r.i, 'istatus') AS us,
                           _u(c.n * 100 + r.i, 'ioffer') AS uo
                    FROM (
                        SELECT n, customer_id,
                               CASE WHEN _u(n, 'interacts') < 0.5 THEN 0
                                    ELSE 1 + floor(pow(_u(n, 'icount'), 2) * 6)::INTEGER
                               END AS k
                        FROM _g_customers
                    ) c, range(c.k) r(i)
                )
            )
            """,
        ),
        (
            "consents",
            f"""
            INSERT INTO consents
            SELECT 'K' || customer_id || '-' || channel, customer_id, channel, 'marketing',
                   CASE WHEN _u(n, channel || 'status') < 0.7 THEN 'opt_in' ELSE 'opt_out' END,
                   'signup', {_ts("floor(_u(n, channel || 'when') * 700 * 86400) + 3600")}
            FROM _g_customers, (VALUES ('email', 0.85), ('sms', 0.4)) v(channel, share)
            WHERE _u(n, channel) < share
            """,
        ),
        (
            "third-party attributes",
            f"""
            INSERT INTO third_party
            SELECT 'T' || customer_id || '-' || attribute || '-' || version::VARCHAR,
                   customer_id, CASE WHEN version = 1 THEN 'datacorp' ELSE 'acxiom' END,
                   as_of, attribute, value
            FROM (
                SELECT n, customer_id, 'interests' AS attribute, 1 AS version,
                       DATE '2025-01-01' + floor(_u(n, 'ias') * 330)::INTEGER AS as_of,
                       {_element(INTERESTS, "_u(n, 'ival')")} AS value
                FROM _g_customers WHERE _u(n, 'interests') < 0.4
                UNION ALL
                SELECT n, customer_id, 'interests', 0,
                       DATE '2024-01-01' + floor(_u(n, 'ias0') * 300)::INTEGER,
                       {_element(INTERESTS, "_u(n, 'ival0')")}
                FROM _g_customers WHERE _u(n, 'interests') < 0.04
                UNION ALL
                SELECT n, customer_id, 'interests', 2, DATE '2026-03-01', 'toys;parenting'
                FROM _g_customers WHERE _u(n, 'interests') < 0.008
                UNION ALL
                SELECT n, customer_id, 'income_band', 1,
                       DATE '2025-01-01' + floor(_u(n, 'bas') * 330)::INTEGER,
                       {_element(("low", "middle", "high", "very_high"), "_u(n, 'band')")}
                FROM _g_customers WHERE _u(n, 'income') < 0.35
                UNION ALL
                SELECT n, customer_id, 'household_size', 1,
                       DATE '2025-01-01' + floor(_u(n, 'has') * 330)::INTEGER,
                       (1 + floor(_u(n, 'hval') * 6))::INTEGER::VARCHAR
                FROM _g_customers WHERE _u(n, 'household') < 0.3
                UNION ALL
                SELECT n, customer_id, 'has_children', 1,
                       DATE '2025-01-01' + floor(_u(n, 'cas') * 330)::INTEGER,
                       CASE WHEN _u(n, 'cval') < 0.45 THEN 'true' ELSE 'false' END
                FROM _g_customers WHERE _u(n, 'children') < 0.3
            )
            """,
        ),
        ("cleanup", "DROP TABLE _g_customers"),
    ]


def generate(dm: Any, customers: int, events: int, log: Any = print) -> dict[str, float]:
    """Fill a migrated, empty datamart; the customer indexes are rebuilt once at the end."""
    import time

    indexes = dm.sql(
        "SELECT index_name, sql FROM duckdb_indexes() WHERE table_name IN "
        "('customers', 'identity', 'events', 'interactions', 'consents', 'third_party')"
    )
    for name, _sql in indexes:
        dm.sql(f'DROP INDEX "{name}"')
    seconds: dict[str, float] = {}
    for label, statement in statements(customers, events):
        started = time.perf_counter()
        dm.sql(statement)
        seconds[label] = time.perf_counter() - started
        log(f"    {label}: {seconds[label]:.1f} s")
    started = time.perf_counter()
    for _name, sql in indexes:
        dm.sql(sql)
    dm.sql("CHECKPOINT")
    seconds["indexes"] = time.perf_counter() - started
    log(f"    indexes and checkpoint: {seconds['indexes']:.1f} s")
    return seconds
