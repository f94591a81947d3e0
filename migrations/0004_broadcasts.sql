-- Announcements: one row per broadcast; its deliveries are outbox rows with subject
-- "broadcast:<id>", so the outbox's statuses are its progress.

CREATE TABLE broadcasts (
    id              INTEGER PRIMARY KEY,
    created_by      INTEGER NOT NULL,
    -- The text in the network's default language, and optional versions by language (JSON).
    text            TEXT    NOT NULL,
    versions        TEXT    NOT NULL DEFAULT '{}',
    -- A photo already uploaded to Telegram, sent again by its file id.
    photo_file_id   TEXT,
    audience_kind   TEXT    NOT NULL
                    CHECK (audience_kind IN ('everyone', 'town', 'language', 'event', 'role')),
    audience_value  TEXT,
    recipients      INTEGER NOT NULL,
    send_at         TEXT    NOT NULL,
    cancelled_at    TEXT,
    created_at      TEXT    NOT NULL
);
CREATE INDEX broadcasts_by ON broadcasts(created_by, id);
