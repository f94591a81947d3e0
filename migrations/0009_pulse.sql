-- The attitude pulse: a short survey (3 to 6 statements, each in every language, answered on
-- a scale of 1 to 5 or "prefer not to say"), asked when people join and again after each event
-- they attended, so that the network can show whether attitudes changed. One survey is live at
-- a time; changing it makes a new one (a new version), and results compare within one.

CREATE TABLE pulse_surveys (
    id            INTEGER PRIMARY KEY,
    status        TEXT    NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'live', 'retired')),
    created_by    INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    published_at  TEXT
);
-- One draft being written, and one survey live, network-wide.
CREATE UNIQUE INDEX pulse_one_draft ON pulse_surveys(status) WHERE status = 'draft';
CREATE UNIQUE INDEX pulse_one_live ON pulse_surveys(status) WHERE status = 'live';

CREATE TABLE pulse_statements (
    survey_id  INTEGER NOT NULL REFERENCES pulse_surveys(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    language   TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    PRIMARY KEY (survey_id, position, language)
) WITHOUT ROWID;

-- One time a person is asked: when they joined (event_id NULL) or after an event. Erased with
-- the person; its answers with it.
CREATE TABLE pulse_asks (
    id           INTEGER PRIMARY KEY,
    telegram_id  INTEGER NOT NULL REFERENCES people(telegram_id) ON DELETE CASCADE,
    survey_id    INTEGER NOT NULL REFERENCES pulse_surveys(id),
    event_id     INTEGER REFERENCES events(id),
    asked_at     TEXT    NOT NULL,
    finished_at  TEXT
);
CREATE UNIQUE INDEX pulse_asks_once ON pulse_asks(telegram_id, survey_id, IFNULL(event_id, 0));

CREATE TABLE pulse_answers (
    ask_id       INTEGER NOT NULL REFERENCES pulse_asks(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    -- 1 (strongly disagree) to 5 (strongly agree); NULL: prefer not to say.
    answer       INTEGER CHECK (answer BETWEEN 1 AND 5),
    answered_at  TEXT    NOT NULL,
    PRIMARY KEY (ask_id, position)
) WITHOUT ROWID;
