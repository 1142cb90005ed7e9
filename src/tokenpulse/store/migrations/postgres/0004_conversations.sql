-- The conversation queue: each period, the people a leader should check in with (top spenders, anyone far
-- above their team's median, everyone a detector flagged), with the evidence packet and where it stands.
CREATE TABLE conversations (
    id            TEXT PRIMARY KEY,          -- <period>:<person>: one item per person and period
    period        TEXT NOT NULL,             -- e.g. 2026-11
    person        TEXT NOT NULL,
    team          TEXT,
    reasons       JSONB NOT NULL,             -- why they are in the queue (top_spender, above_team_median, flags)
    evidence      JSONB NOT NULL,             -- spend by tool and model, depth, outcomes, flags
    status        TEXT NOT NULL,             -- open | scheduled | done | dismissed
    notes         TEXT,
    scheduled_for TEXT,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    updated_by    TEXT
);
CREATE INDEX conversations_period_status ON conversations (period, status);
