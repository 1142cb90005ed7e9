-- What the collector server adds: the people directory and its aliases, API keys, user prompts,
-- the last value of each cumulative OpenTelemetry counter, and how far `push` has sent this store.

-- A person's id is their lower-cased work email; `aliases` maps every other identity a tool reports
-- (another email, `account:<uuid>`, `user:<id>`, a vendor user id) to it. Events keep the identity they
-- arrived with until an alias maps it; importing the directory re-attributes what came before.
CREATE TABLE people (
    person      VARCHAR PRIMARY KEY,
    name        VARCHAR,
    team        VARCHAR,
    manager     VARCHAR,                 -- the manager's person id
    role        VARCHAR,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE aliases (
    alias   VARCHAR PRIMARY KEY,
    person  VARCHAR NOT NULL
);

-- Ingest tokens (org- or team-scoped), personal keys and admin keys. Only a hash of the secret is kept.
CREATE TABLE api_keys (
    id            VARCHAR PRIMARY KEY,   -- public id, shown in lists and logs
    hash          VARCHAR NOT NULL UNIQUE,  -- sha256 of the whole key, hex
    kind          VARCHAR NOT NULL,      -- ingest | personal | admin
    team          VARCHAR,               -- ingest tokens for one team; NULL = the whole organisation
    person        VARCHAR,               -- the owner of a personal key
    name          VARCHAR,
    created_at    TIMESTAMP NOT NULL,
    last_used_at  TIMESTAMP,
    revoked_at    TIMESTAMP
);

-- User prompts reported by the tools: their length always, their text only when the client sent it.
-- The text is private to the person who wrote it.
CREATE TABLE prompts (
    id           VARCHAR PRIMARY KEY,
    ts           TIMESTAMP NOT NULL,
    tool         VARCHAR NOT NULL,
    person       VARCHAR,
    session      VARCHAR,
    prompt_id    VARCHAR,
    length       BIGINT,
    text         VARCHAR,
    ingested_at  TIMESTAMP NOT NULL
);

-- The last point of each cumulative counter series, to turn the next point into an increment.
CREATE TABLE metric_series (
    series      VARCHAR PRIMARY KEY,
    start_ns    BIGINT NOT NULL,
    time_ns     BIGINT NOT NULL,
    value       BIGINT NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- `tokenpulse push`: per server, the (ingested_at, id) of the last event and outcome it acknowledged.
CREATE TABLE push_state (
    server           VARCHAR PRIMARY KEY,
    usage_at         TIMESTAMP,
    usage_id         VARCHAR,
    outcome_at       TIMESTAMP,
    outcome_id       VARCHAR,
    pushed_at        TIMESTAMP NOT NULL
);
