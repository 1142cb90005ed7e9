-- What the collector server adds: the people directory and its aliases, API keys, user prompts,
-- the last value of each cumulative OpenTelemetry counter, and how far `push` has sent this store.

-- A person's id is their lower-cased work email; `aliases` maps every other identity a tool reports
-- (another email, `account:<uuid>`, `user:<id>`, a vendor user id) to it. Events keep the identity they
-- arrived with until an alias maps it; importing the directory re-attributes what came before.
CREATE TABLE people (
    person      TEXT PRIMARY KEY,
    name        TEXT,
    team        TEXT,
    manager     TEXT,                 -- the manager's person id
    role        TEXT,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE aliases (
    alias   TEXT PRIMARY KEY,
    person  TEXT NOT NULL
);

-- Ingest tokens (org- or team-scoped), personal keys and admin keys. Only a hash of the secret is kept.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,   -- public id, shown in lists and logs
    hash          TEXT NOT NULL UNIQUE,  -- sha256 of the whole key, hex
    kind          TEXT NOT NULL,      -- ingest | personal | admin
    team          TEXT,               -- ingest tokens for one team; NULL = the whole organisation
    person        TEXT,               -- the owner of a personal key
    name          TEXT,
    created_at    TIMESTAMP NOT NULL,
    last_used_at  TIMESTAMP,
    revoked_at    TIMESTAMP
);

-- User prompts reported by the tools: their length always, their text only when the client sent it.
-- The text is private to the person who wrote it.
CREATE TABLE prompts (
    id           TEXT PRIMARY KEY,
    ts           TIMESTAMP NOT NULL,
    tool         TEXT NOT NULL,
    person       TEXT,
    session      TEXT,
    prompt_id    TEXT,
    length       BIGINT,
    text         TEXT,
    ingested_at  TIMESTAMP NOT NULL
);

-- The last point of each cumulative counter series, to turn the next point into an increment.
CREATE TABLE metric_series (
    series      TEXT PRIMARY KEY,
    start_ns    BIGINT NOT NULL,
    time_ns     BIGINT NOT NULL,
    value       BIGINT NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- `tokenpulse push`: per server, the (ingested_at, id) of the last event and outcome it acknowledged.
CREATE TABLE push_state (
    server           TEXT PRIMARY KEY,
    usage_at         TIMESTAMP,
    usage_id         TEXT,
    outcome_at       TIMESTAMP,
    outcome_id       TEXT,
    pushed_at        TIMESTAMP NOT NULL
);

CREATE INDEX prompts_person_ts ON prompts (person, ts);
CREATE INDEX outcomes_person ON outcomes (person);
