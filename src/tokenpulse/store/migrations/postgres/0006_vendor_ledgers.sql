-- What the vendors' admin APIs bill (`tokenpulse sync`): one cost line per UTC day and dimension, replaced
-- by a later copy of the same id; and each connector's cursor (the start of the last bucket it read).

CREATE TABLE vendor_costs (
    id              TEXT PRIMARY KEY,           -- deterministic: vendor, day and every dimension of the line
    vendor          TEXT NOT NULL,              -- anthropic | openai
    day             DATE NOT NULL,                 -- the UTC day billed (the bucket's start)
    starting_at     TIMESTAMP NOT NULL,
    ending_at       TIMESTAMP NOT NULL,
    amount_micros   BIGINT NOT NULL,               -- integer micro-USD
    currency        TEXT NOT NULL,
    scope           TEXT,                       -- Anthropic workspace_id / OpenAI project_id
    item            TEXT,                       -- Anthropic description / OpenAI line_item
    cost_type       TEXT,
    model           TEXT,
    token_type      TEXT,
    service_tier    TEXT,
    context_window  TEXT,
    inference_geo   TEXT,
    source          TEXT NOT NULL,              -- vendor_api
    confidence      TEXT NOT NULL               -- billed
);
CREATE INDEX vendor_costs_day ON vendor_costs (day);

CREATE TABLE sync_state (
    name        TEXT PRIMARY KEY,               -- the connector: anthropic | openai | …
    last_start  TIMESTAMP NOT NULL,                -- UTC start of the last bucket synced (the next run re-reads from before it)
    updated_at  TIMESTAMP NOT NULL
);
