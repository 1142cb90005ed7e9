-- The conversation queue: each period, the people a leader should check in with (top spenders, anyone far
-- above their team's median, everyone a detector flagged), with the evidence packet and where it stands.
CREATE TABLE conversations (
    id            VARCHAR PRIMARY KEY,          -- <period>:<person>: one item per person and period
    period        VARCHAR NOT NULL,             -- e.g. 2026-11
    person        VARCHAR NOT NULL,
    team          VARCHAR,
    reasons       JSON NOT NULL,             -- why they are in the queue (top_spender, above_team_median, flags)
    evidence      JSON NOT NULL,             -- spend by tool and model, depth, outcomes, flags
    status        VARCHAR NOT NULL,             -- open | scheduled | done | dismissed
    notes         VARCHAR,
    scheduled_for VARCHAR,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    updated_by    VARCHAR
);
CREATE INDEX conversations_period_status ON conversations (period, status);
