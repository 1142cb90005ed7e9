-- Usage and outcome events, one row per dedup key. Times are UTC (TIMESTAMP without zone).
-- Money is integer micro-USD.
--
-- `events.id` is unique. The store's one write path keeps it so (an anti-join against the stored ids,
-- in the same transaction; DuckDB admits one writing process per file) rather than an ART index,
-- which doubles the cost of bulk loads and holds every key in memory.

CREATE TABLE events (
    id                    VARCHAR NOT NULL,      -- the dedup key
    ts                    TIMESTAMP NOT NULL,
    person                VARCHAR,
    tool                  VARCHAR NOT NULL,
    provider              VARCHAR,
    model                 VARCHAR,               -- as the tool reported it
    priced_model          VARCHAR,               -- the price-book entry used; NULL = unpriced
    input_tokens          BIGINT NOT NULL DEFAULT 0,
    output_tokens         BIGINT NOT NULL DEFAULT 0,
    cache_read_tokens     BIGINT NOT NULL DEFAULT 0,
    cache_write_tokens    BIGINT NOT NULL DEFAULT 0,
    cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens      BIGINT NOT NULL DEFAULT 0,
    web_search_requests   BIGINT NOT NULL DEFAULT 0,
    session               VARCHAR,
    project               VARCHAR,
    request_id            VARCHAR,
    status                VARCHAR NOT NULL DEFAULT 'ok',
    duration_ms           BIGINT,
    prompt_hash           VARCHAR,
    speed                 VARCHAR,
    service_tier          VARCHAR,
    inference_geo         VARCHAR,
    reported_cost_micros  BIGINT,                -- what the tool or vendor said it cost
    cost_micros           BIGINT,                -- list cost from the price book
    price_version         VARCHAR,
    source                VARCHAR NOT NULL,
    confidence            VARCHAR NOT NULL,
    rank                  BIGINT NOT NULL DEFAULT 0,  -- the higher-ranked copy of an id wins
    extra                 JSON,
    ingested_at           TIMESTAMP NOT NULL
);

CREATE TABLE outcomes (
    id          VARCHAR PRIMARY KEY,
    ts          TIMESTAMP NOT NULL,
    person      VARCHAR,
    tool        VARCHAR,
    type        VARCHAR NOT NULL,
    count       BIGINT NOT NULL,
    session     VARCHAR,
    project     VARCHAR,
    source      VARCHAR NOT NULL,
    extra       JSON,
    ingested_at TIMESTAMP NOT NULL
);

-- What reports read: usage summed per UTC hour and every dimension a report filters or groups by.
-- Rebuilt for the hours an ingest touches, from `events`.
CREATE TABLE usage_hourly (
    hour                  TIMESTAMP NOT NULL,
    person                VARCHAR,
    tool                  VARCHAR NOT NULL,
    provider              VARCHAR,
    model                 VARCHAR,               -- priced model, else the reported id
    project               VARCHAR,
    session               VARCHAR,
    source                VARCHAR NOT NULL,
    confidence            VARCHAR NOT NULL,
    requests              BIGINT NOT NULL,
    input_tokens          BIGINT NOT NULL,
    output_tokens         BIGINT NOT NULL,
    cache_read_tokens     BIGINT NOT NULL,
    cache_write_tokens    BIGINT NOT NULL,
    cache_write_1h_tokens BIGINT NOT NULL,
    reasoning_tokens      BIGINT NOT NULL,
    cost_micros           BIGINT NOT NULL,       -- sum over priced requests
    unpriced_requests     BIGINT NOT NULL,
    first_ts              TIMESTAMP NOT NULL,
    last_ts               TIMESTAMP NOT NULL
);

-- Hours whose summary rows are out of date (written with the events, cleared by the rebuild).
CREATE TABLE dirty_hours (
    hour TIMESTAMP PRIMARY KEY
);

-- How far each local log file has been read, so the next import reads only what is new.
CREATE TABLE source_files (
    path          VARCHAR PRIMARY KEY,
    format        VARCHAR NOT NULL,
    device        BIGINT NOT NULL,
    inode         BIGINT NOT NULL,
    size          BIGINT NOT NULL,
    mtime_ns      BIGINT NOT NULL,
    "offset"      BIGINT NOT NULL,               -- bytes consumed (always just after a complete line)
    lines         BIGINT NOT NULL,               -- lines consumed
    head_hash     VARCHAR NOT NULL,              -- of the first bytes: tells a rewritten file
    tail_open     BOOLEAN NOT NULL,              -- the last consumed line had no newline yet
    parser_state  JSON,
    updated_at    TIMESTAMP NOT NULL
);

-- Lines that could not be read, kept so they can be listed after the import that met them.
CREATE TABLE ingest_errors (
    path     VARCHAR NOT NULL,
    line     BIGINT NOT NULL,
    message  VARCHAR NOT NULL,
    seen_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (path, line)
);
