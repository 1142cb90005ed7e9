-- What the metering gateway adds: the record of every circuit-breaker trip (with its evidence and how it
-- ended), budget overrides people granted themselves, and one audit log of who changed what and why.
-- The live counters (spend reserved and settled) are not here: they live in memory or Redis.

CREATE TABLE incidents (
    id              VARCHAR PRIMARY KEY,
    person          VARCHAR NOT NULL,
    day             VARCHAR NOT NULL,             -- the person's day (org timezone), e.g. 2026-12-04
    cause           VARCHAR NOT NULL,             -- daily_spend | spend_rate | loop
    evidence        JSON,                    -- the figures that tripped it
    shadow          BOOLEAN NOT NULL,        -- recorded only: the policy was in shadow mode
    tripped_at      TIMESTAMP NOT NULL,
    reenabled_at    TIMESTAMP,
    reenabled_by    VARCHAR,
    reenable_reason VARCHAR
);
CREATE INDEX incidents_person_day ON incidents (person, day);

CREATE TABLE overrides (
    id          VARCHAR PRIMARY KEY,
    scope       VARCHAR NOT NULL,                 -- the budget's scope, e.g. person:alice@example.com|tool:claude_code
    period      VARCHAR NOT NULL,                 -- the budget period it raises, e.g. 2026-12
    raise_micros BIGINT NOT NULL,
    reason      VARCHAR NOT NULL,
    granted_by  VARCHAR NOT NULL,
    granted_at  TIMESTAMP NOT NULL
);
CREATE INDEX overrides_scope_period ON overrides (scope, period);

CREATE TABLE audit_log (
    id          VARCHAR PRIMARY KEY,
    ts          TIMESTAMP NOT NULL,
    actor       VARCHAR NOT NULL,                 -- who did it (a person, or "gateway" for automatic actions)
    action      VARCHAR NOT NULL,                 -- breaker_trip | reenable | override | budget_alert
    subject     VARCHAR NOT NULL,                 -- whom or what it concerns
    detail      JSON
);
CREATE INDEX audit_log_ts ON audit_log (ts);
