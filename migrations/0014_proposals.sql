-- Proposals get their own table; until now they were rows of `stories` with kind 'proposal'.
-- Stories and proposals are both submissions: one moderation queue, one moderation log, and
-- one sequence of numbers (`submissions`), so that a moderator's button, a notice or the log
-- names one without saying which of the two it is. Ids are kept.
CREATE TABLE submissions (id INTEGER PRIMARY KEY AUTOINCREMENT);
INSERT INTO submissions (id) SELECT MAX(id) FROM stories HAVING MAX(id) IS NOT NULL;
DELETE FROM submissions;  -- the sequence goes on from the highest id all the same

CREATE TABLE proposals (
    id            INTEGER PRIMARY KEY,
    -- NULL for the network's own (a coordinator's), or once the author erased their data.
    author_id     INTEGER REFERENCES people(telegram_id) ON DELETE SET NULL,
    chapter_id    INTEGER NOT NULL REFERENCES chapters(id),
    title         TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    reject_reason TEXT    CHECK (reject_reason IN ('off_topic', 'hateful', 'personal_data',
                                                   'spam', 'other')),
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    submitted_at  TEXT    NOT NULL,
    decided_at    TEXT,
    decided_by    INTEGER
);
CREATE INDEX proposals_author ON proposals(author_id, status);
CREATE INDEX proposals_queue ON proposals(status, submitted_at);
CREATE INDEX proposals_chapter ON proposals(status, chapter_id);

INSERT INTO proposals (id, author_id, chapter_id, title, text, status, reject_reason,
                       created_at, updated_at, submitted_at, decided_at, decided_by)
SELECT id, author_id, chapter_id, IFNULL(title, ''), IFNULL(text, ''), status, reject_reason,
       created_at, updated_at, IFNULL(submitted_at, created_at), decided_at, decided_by
FROM stories WHERE kind = 'proposal' AND chapter_id IS NOT NULL;

-- The proposals of a round are proposals now.
CREATE TABLE round_proposals_moved (
    round_id     INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
    proposal_id  INTEGER NOT NULL REFERENCES proposals(id),
    position     INTEGER NOT NULL,
    PRIMARY KEY (round_id, proposal_id)
);
INSERT INTO round_proposals_moved SELECT round_id, proposal_id, position FROM round_proposals;
DROP TABLE round_proposals;
ALTER TABLE round_proposals_moved RENAME TO round_proposals;

DELETE FROM stories WHERE kind = 'proposal';
DROP INDEX stories_kind;
ALTER TABLE stories DROP COLUMN kind;
ALTER TABLE stories DROP COLUMN title;
