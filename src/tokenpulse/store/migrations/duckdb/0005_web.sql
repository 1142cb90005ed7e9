-- What the dashboard adds: signed-in browser sessions, one-time sign-in links, org settings an admin edits
-- (visibility, discount, budgets, breaker, expected-usage floors) and session shares an owner grants.
-- Secrets (cookies, links, share tokens) are stored only as their SHA-256.

CREATE TABLE web_sessions (
    id          VARCHAR PRIMARY KEY,               -- SHA-256 of the cookie's secret
    person      VARCHAR,                           -- who signed in (NULL: an admin key without a person)
    actor       VARCHAR NOT NULL,                  -- how they appear in audit entries
    role        VARCHAR NOT NULL,                  -- admin (signed in as one) | person (role read from the directory)
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);

CREATE TABLE login_links (
    id          VARCHAR PRIMARY KEY,               -- SHA-256 of the link's token
    person      VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);

CREATE TABLE org_settings (
    name        VARCHAR PRIMARY KEY,               -- visibility | discount | budgets | breaker | expected_monthly_usd
    value       JSON NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    updated_by  VARCHAR NOT NULL
);

CREATE TABLE session_shares (
    id          VARCHAR PRIMARY KEY,               -- SHA-256 of the share link's token
    session     VARCHAR NOT NULL,
    person      VARCHAR NOT NULL,                  -- the owner who shared it
    created_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);
CREATE INDEX session_shares_session ON session_shares (session);
