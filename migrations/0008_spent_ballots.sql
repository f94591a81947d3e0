-- One person, one ballot per proposal per round, whatever they erase. When a voter erases
-- their data, their ballots lose their key (they stay as anonymous rows, and in the counts),
-- and a marker records that *someone* with this round's erased key took part in the
-- proposal's vote. The marker is an HMAC of the round and the person under the ballot key,
-- made with another label than the ballot's own key: it lets vote() refuse a second ballot
-- after a /deleteme and /start, and holds no choice, so nothing leads from it to a ballot.
CREATE TABLE spent_ballots (
    round_id     INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
    proposal_id  INTEGER NOT NULL,
    marker       TEXT    NOT NULL,
    PRIMARY KEY (round_id, proposal_id, marker)
) WITHOUT ROWID;
