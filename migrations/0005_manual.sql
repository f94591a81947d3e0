-- The manual: proposals, voting rounds with secret ballots, and a phase switch for proposals.
-- A proposal is a submission like a story (same table, same moderation queue, same log),
-- with kind 'proposal' and a short title.

ALTER TABLE stories ADD COLUMN kind TEXT NOT NULL DEFAULT 'story'
    CHECK (kind IN ('story', 'proposal'));
ALTER TABLE stories ADD COLUMN title TEXT;
CREATE INDEX stories_kind ON stories(kind, status, chapter_id);

CREATE TABLE rounds (
    id               INTEGER PRIMARY KEY,
    title            TEXT    NOT NULL,
    opens_at         TEXT    NOT NULL,
    closes_at        TEXT    NOT NULL,
    -- 1: running counts may be seen before the close; 0 (the default): hidden until then.
    results_visible  INTEGER NOT NULL DEFAULT 0 CHECK (results_visible IN (0, 1)),
    status           TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    reminded         INTEGER NOT NULL DEFAULT 0,
    created_by       INTEGER NOT NULL,
    created_at       TEXT    NOT NULL,
    closed_at        TEXT,
    CHECK (closes_at > opens_at)
);
CREATE INDEX rounds_due ON rounds(status, closes_at);

CREATE TABLE round_proposals (
    round_id     INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
    proposal_id  INTEGER NOT NULL REFERENCES stories(id),
    position     INTEGER NOT NULL,
    PRIMARY KEY (round_id, proposal_id)
);

-- Secret ballots: no Telegram id. voter_key is an HMAC of the round and the person under a key
-- kept outside the database, so the voter can see and change their own choice and nobody —
-- with a command, an export, a log or the database file — can see anyone else's.
-- voter_group is the self-description at voting time, for the split results only.
CREATE TABLE ballots (
    round_id     INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
    proposal_id  INTEGER NOT NULL,
    voter_key    TEXT,
    voter_group  TEXT    NOT NULL CHECK (voter_group IN ('resident', 'newcomer', 'unsaid')),
    choice       TEXT    NOT NULL CHECK (choice IN ('support', 'oppose', 'abstain')),
    UNIQUE (round_id, proposal_id, voter_key)
);
CREATE INDEX ballots_count ON ballots(round_id, proposal_id, voter_group, choice);
CREATE INDEX ballots_voter ON ballots(round_id, voter_key);

CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
