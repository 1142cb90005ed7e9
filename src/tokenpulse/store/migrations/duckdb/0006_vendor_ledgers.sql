-- What the vendors' admin APIs bill (`tokenpulse sync`): one cost line per UTC day and dimension, replaced
-- by a later copy of the same id; and each connector's cursor (the start of the last bucket it read).

CREATE TABLE vendor_costs (
    id              VARCHAR PRIMARY KEY,           -- deterministic: vendor, day and every dimension of the line
    vendor          VARCHAR NOT NULL,              -- anthropic | openai
    day             DATE NOT NULL,                 -- the UTC day billed (the bucket's start)
    starting_at     TIMESTAMP NOT NULL,
    ending_at       TIMESTAMP NOT NULL,
    amount_micros   BIGINT NOT NULL,               -- integer micro-USD
    currency        VARCHAR NOT NULL,
    scope           VARCHAR,                       -- Anthropic workspace_id / OpenAI project_id
    item            VARCHAR,                       -- Anthropic description / OpenAI line_item
    cost_type       VARCHAR,
    model           VARCHAR,
    token_type      VARCHAR,
    service_tier    VARCHAR,
    context_window  VARCHAR,
    inference_geo   VARCHAR,
    source          VARCHAR NOT NULL,              -- vendor_api
    confidence      VARCHAR NOT NULL               -- billed
);
CREATE INDEX vendor_costs_day ON vendor_costs (day);

CREATE TABLE sync_state (
    name        VARCHAR PRIMARY KEY,               -- the connector: anthropic | openai | …
    last_start  TIMESTAMP NOT NULL,                -- UTC start of the last bucket synced (the next run re-reads from before it)
    updated_at  TIMESTAMP NOT NULL
);
