-- What the dashboard adds: signed-in browser sessions, one-time sign-in links, org settings an admin edits
-- (visibility, discount, budgets, breaker, expected-usage floors) and session shares an owner grants.
-- Secrets (cookies, links, share tokens) are stored only as their SHA-256.

CREATE TABLE web_sessions (
    id          TEXT PRIMARY KEY,               -- SHA-256 of the cookie's secret
    person      TEXT,                           -- who signed in (NULL: an admin key without a person)
    actor       TEXT NOT NULL,                  -- how they appear in audit entries
    role        TEXT NOT NULL,                  -- admin (signed in as one) | person (role read from the directory)
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);

CREATE TABLE login_links (
    id          TEXT PRIMARY KEY,               -- SHA-256 of the link's token
    person      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);

CREATE TABLE org_settings (
    name        TEXT PRIMARY KEY,               -- visibility | discount | budgets | breaker | expected_monthly_usd
    value       JSONB NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    updated_by  TEXT NOT NULL
);

CREATE TABLE session_shares (
    id          TEXT PRIMARY KEY,               -- SHA-256 of the share link's token
    session     TEXT NOT NULL,
    person      TEXT NOT NULL,                  -- the owner who shared it
    created_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);
CREATE INDEX session_shares_session ON session_shares (session);
