-- Usage and outcome events, one row per dedup key. Times are UTC (timestamp without time zone).
-- Money is integer micro-USD. The same tables as the DuckDB store's 0001; here `events.id` is a real
-- primary key (many writers may share one database).

CREATE TABLE events (
    id                    TEXT PRIMARY KEY,      -- the dedup key
    ts                    TIMESTAMP NOT NULL,
    person                TEXT,
    tool                  TEXT NOT NULL,
    provider              TEXT,
    model                 TEXT,                  -- as the tool reported it
    priced_model          TEXT,                  -- the price-book entry used; NULL = unpriced
    input_tokens          BIGINT NOT NULL DEFAULT 0,
    output_tokens         BIGINT NOT NULL DEFAULT 0,
    cache_read_tokens     BIGINT NOT NULL DEFAULT 0,
    cache_write_tokens    BIGINT NOT NULL DEFAULT 0,
    cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens      BIGINT NOT NULL DEFAULT 0,
    web_search_requests   BIGINT NOT NULL DEFAULT 0,
    session               TEXT,
    project               TEXT,
    request_id            TEXT,
    status                TEXT NOT NULL DEFAULT 'ok',
    duration_ms           BIGINT,
    prompt_hash           TEXT,
    speed                 TEXT,
    service_tier          TEXT,
    inference_geo         TEXT,
    reported_cost_micros  BIGINT,                -- what the tool or vendor said it cost
    cost_micros           BIGINT,                -- list cost from the price book
    price_version         TEXT,
    source                TEXT NOT NULL,
    confidence            TEXT NOT NULL,
    rank                  BIGINT NOT NULL DEFAULT 0,  -- the higher-ranked copy of an id wins
    extra                 JSONB,
    ingested_at           TIMESTAMP NOT NULL
);
CREATE INDEX events_ts ON events (ts);

CREATE TABLE outcomes (
    id          TEXT PRIMARY KEY,
    ts          TIMESTAMP NOT NULL,
    person      TEXT,
    tool        TEXT,
    type        TEXT NOT NULL,
    count       BIGINT NOT NULL,
    session     TEXT,
    project     TEXT,
    source      TEXT NOT NULL,
    extra       JSONB,
    ingested_at TIMESTAMP NOT NULL
);
CREATE INDEX outcomes_ts ON outcomes (ts);

-- What reports read: usage summed per UTC hour and every dimension a report filters or groups by.
CREATE TABLE usage_hourly (
    hour                  TIMESTAMP NOT NULL,
    person                TEXT,
    tool                  TEXT NOT NULL,
    provider              TEXT,
    model                 TEXT,
    project               TEXT,
    session               TEXT,
    source                TEXT NOT NULL,
    confidence            TEXT NOT NULL,
    requests              BIGINT NOT NULL,
    input_tokens          BIGINT NOT NULL,
    output_tokens         BIGINT NOT NULL,
    cache_read_tokens     BIGINT NOT NULL,
    cache_write_tokens    BIGINT NOT NULL,
    cache_write_1h_tokens BIGINT NOT NULL,
    reasoning_tokens      BIGINT NOT NULL,
    cost_micros           BIGINT NOT NULL,
    unpriced_requests     BIGINT NOT NULL,
    first_ts              TIMESTAMP NOT NULL,
    last_ts               TIMESTAMP NOT NULL
);
CREATE INDEX usage_hourly_hour ON usage_hourly (hour);

CREATE TABLE dirty_hours (
    hour TIMESTAMP PRIMARY KEY
);

CREATE TABLE source_files (
    path          TEXT PRIMARY KEY,
    format        TEXT NOT NULL,
    device        BIGINT NOT NULL,
    inode         BIGINT NOT NULL,
    size          BIGINT NOT NULL,
    mtime_ns      BIGINT NOT NULL,
    "offset"      BIGINT NOT NULL,
    lines         BIGINT NOT NULL,
    head_hash     TEXT NOT NULL,
    tail_open     BOOLEAN NOT NULL,
    parser_state  JSONB,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE ingest_errors (
    path     TEXT NOT NULL,
    line     BIGINT NOT NULL,
    message  TEXT NOT NULL,
    seen_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (path, line)
);
