-- Foundation: partner towns, manual chapters, people (only after consent), staff roles, audit log.
-- Times are UTC, ISO 8601 text ("2026-11-26T22:21:39Z"), so they sort and read well in exports.

CREATE TABLE towns (
    id          INTEGER PRIMARY KEY,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    timezone    TEXT    NOT NULL,
    added_by    INTEGER,
    created_at  TEXT    NOT NULL
);

CREATE TABLE chapters (
    id          INTEGER PRIMARY KEY,
    slug        TEXT    NOT NULL UNIQUE,
    position    INTEGER NOT NULL,
    created_at  TEXT    NOT NULL
);

CREATE TABLE chapter_titles (
    chapter_id  INTEGER NOT NULL REFERENCES chapters(id) ON DELETE CASCADE,
    language    TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    PRIMARY KEY (chapter_id, language)
);

-- A row exists only once the person has consented; before that nothing about them is stored.
CREATE TABLE people (
    telegram_id       INTEGER PRIMARY KEY,
    language          TEXT    NOT NULL,
    town_id           INTEGER REFERENCES towns(id),
    -- 1 when the person answered "other / none of these" to the town question.
    other_town        INTEGER NOT NULL DEFAULT 0 CHECK (other_town IN (0, 1)),
    -- Used only in aggregate figures, never shown to anyone.
    self_description  TEXT    CHECK (self_description IN ('resident', 'newcomer', 'unsaid')),
    consented_at      TEXT    NOT NULL,
    blocked_at        TEXT,
    CHECK (NOT (other_town = 1 AND town_id IS NOT NULL))
);
CREATE INDEX people_town ON people(town_id);

-- Coordinators of a town (town_id set) or of the whole network (town_id NULL), and moderators.
-- Admins come from the configuration file, not from this table.
CREATE TABLE staff_roles (
    id           INTEGER PRIMARY KEY,
    telegram_id  INTEGER NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('coordinator', 'moderator')),
    town_id      INTEGER REFERENCES towns(id),
    granted_by   INTEGER NOT NULL,
    granted_at   TEXT    NOT NULL,
    CHECK (role = 'coordinator' OR town_id IS NULL)
);
CREATE UNIQUE INDEX staff_roles_unique ON staff_roles(telegram_id, role, IFNULL(town_id, 0));

-- Who did what, when: every staff action. Never holds message text or votes.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT    NOT NULL,
    actor_id  INTEGER,
    action    TEXT    NOT NULL,
    subject   TEXT,
    detail    TEXT
);
CREATE INDEX audit_log_actor ON audit_log(actor_id);
