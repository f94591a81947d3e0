-- Stories (experiences) and their moderation. A story is a draft while its author writes it,
-- so a restart in the middle of the conversation loses nothing.

CREATE TABLE stories (
    id            INTEGER PRIMARY KEY,
    -- NULL once the author erased their data and the approved story stayed, anonymous.
    author_id     INTEGER REFERENCES people(telegram_id) ON DELETE SET NULL,
    chapter_id    INTEGER REFERENCES chapters(id),
    text          TEXT,
    -- NULL until the author chose; 1 = no name anywhere; 0 = signed with signed_name.
    anonymous     INTEGER CHECK (anonymous IN (0, 1)),
    signed_name   TEXT,
    status        TEXT    NOT NULL DEFAULT 'draft'
                          CHECK (status IN ('draft', 'pending', 'approved', 'rejected')),
    reject_reason TEXT    CHECK (reject_reason IN ('off_topic', 'hateful', 'personal_data',
                                                   'spam', 'other')),
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    submitted_at  TEXT,
    decided_at    TEXT,
    decided_by    INTEGER
);
CREATE INDEX stories_author ON stories(author_id, status);
CREATE INDEX stories_queue ON stories(status, submitted_at);
CREATE INDEX stories_published ON stories(status, chapter_id, decided_at);
-- At most one draft per person.
CREATE UNIQUE INDEX stories_one_draft ON stories(author_id) WHERE status = 'draft';

-- Every moderation action: who, when, what, why. Never the story's text.
CREATE TABLE moderation_log (
    id            INTEGER PRIMARY KEY,
    at            TEXT    NOT NULL,
    moderator_id  INTEGER NOT NULL,
    story_id      INTEGER,
    action        TEXT    NOT NULL CHECK (action IN ('approve', 'reject')),
    reason        TEXT
);
