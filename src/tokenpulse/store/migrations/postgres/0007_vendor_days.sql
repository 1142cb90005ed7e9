-- The (person, tool, UTC day) cells a vendor's admin API reported usage for (`tokenpulse sync`). In such a
-- cell the vendor's figures are what totals count: the hourly summaries leave out the gateway's and local
-- logs' events of the cell, which stay in `events`, labelled by their source, for reconciliation.

CREATE TABLE vendor_days (
    person  TEXT    NOT NULL,
    tool    TEXT    NOT NULL,
    day     DATE NOT NULL,
    PRIMARY KEY (person, tool, day)
);
