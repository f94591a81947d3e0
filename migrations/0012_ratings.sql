-- Rating an event: one row per person asked (everyone checked in, an hour after it ended),
-- with their stars (1 to 5) and one optional sentence once they answer. Erased with the person.
CREATE TABLE ratings (
    event_id     INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    telegram_id  INTEGER NOT NULL REFERENCES people(telegram_id) ON DELETE CASCADE,
    asked_at     TEXT    NOT NULL,
    stars        INTEGER CHECK (stars BETWEEN 1 AND 5),
    comment      TEXT,
    rated_at     TEXT,
    PRIMARY KEY (event_id, telegram_id)
) WITHOUT ROWID;
CREATE INDEX ratings_of_person ON ratings(telegram_id);
