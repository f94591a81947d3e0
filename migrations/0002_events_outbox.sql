-- Events with capacity and waitlist, check-in; the outbox that delivers everything not a reply.

CREATE TABLE events (
    id                     INTEGER PRIMARY KEY,
    -- Local events belong to one town; international ones to the whole network.
    scope                  TEXT    NOT NULL CHECK (scope IN ('local', 'international')),
    town_id                INTEGER REFERENCES towns(id),
    title                  TEXT    NOT NULL,
    description            TEXT    NOT NULL DEFAULT '',
    place                  TEXT    NOT NULL,
    timezone               TEXT    NOT NULL,
    starts_at              TEXT    NOT NULL,
    ends_at                TEXT    NOT NULL,
    capacity               INTEGER CHECK (capacity IS NULL OR capacity > 0),
    registration_deadline  TEXT,
    -- Minutes before the start at which registered people are reminded, e.g. "1440,120".
    reminder_minutes       TEXT    NOT NULL DEFAULT '1440,120',
    -- The secret part of the check-in deep link shown as a QR code at the venue.
    checkin_code           TEXT    NOT NULL,
    status                 TEXT    NOT NULL DEFAULT 'scheduled'
                                   CHECK (status IN ('scheduled', 'cancelled')),
    -- The highest fill alert sent (0, 50, 80 or 100 per cent), so each goes out once.
    fill_alerted           INTEGER NOT NULL DEFAULT 0,
    created_by             INTEGER NOT NULL,
    created_at             TEXT    NOT NULL,
    CHECK (scope = 'international' OR town_id IS NOT NULL),
    CHECK (ends_at > starts_at)
);
CREATE INDEX events_upcoming ON events(status, starts_at);

CREATE TABLE registrations (
    event_id       INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    telegram_id    INTEGER NOT NULL REFERENCES people(telegram_id) ON DELETE CASCADE,
    status         TEXT    NOT NULL CHECK (status IN ('registered', 'waitlisted')),
    -- The first name Telegram gave when joining, shown only to the event's coordinators.
    display_name   TEXT    NOT NULL DEFAULT '',
    -- Waitlist order is the order of joining.
    seq            INTEGER NOT NULL,
    joined_at      TEXT    NOT NULL,
    checked_in_at  TEXT,
    PRIMARY KEY (event_id, telegram_id)
);
CREATE INDEX registrations_person ON registrations(telegram_id);
CREATE INDEX registrations_waitlist ON registrations(event_id, status, seq);

-- Everything the bot sends that is not a direct reply. A row is rendered when it is sent, in
-- the person's language at that moment, so a moved event or a changed language is honoured.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    params       TEXT    NOT NULL DEFAULT '{}',
    -- What the row is about ("event:12"), to move or cancel a subject's pending rows.
    subject      TEXT,
    -- A row with the same key is never queued twice (e.g. "reminder:12:1001:120").
    dedupe_key   TEXT    UNIQUE,
    not_before   TEXT    NOT NULL,
    expires_at   TEXT,
    status       TEXT    NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'sent', 'failed', 'blocked',
                                           'cancelled', 'expired')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    sent_at      TEXT,
    created_at   TEXT    NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, not_before);
CREATE INDEX outbox_subject ON outbox(subject, status);
