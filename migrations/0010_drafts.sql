-- Unfinished conversations (/newevent, moving or editing an event, /broadcast, a link waiting
-- for onboarding to end): where the person is and what they have answered so far, written with
-- every answer, so that a restart in the middle loses nothing. One per person and kind; the
-- answers are the flow's typed record as JSON. Erased with the person.
CREATE TABLE drafts (
    telegram_id  INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    step         TEXT    NOT NULL,
    answers      TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    turn         INTEGER NOT NULL,  -- the person's latest flow has the highest
    PRIMARY KEY (telegram_id, kind)
) WITHOUT ROWID;
