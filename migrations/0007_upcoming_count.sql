-- /events counts the events not yet over on every page: with this index the count reads the
-- index alone. The page itself keeps walking events_upcoming in order of start (the service
-- names each index, so the planner cannot trade one for the other).
CREATE INDEX events_open ON events(status, ends_at);
