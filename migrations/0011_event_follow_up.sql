-- After an event: once it has ended (an hour later), the features that follow up on it (the
-- rating request) are told who was checked in, once, in the change that marks it followed up.
-- Events that ended before this version are taken as followed up: nobody is asked about them
-- out of the blue.
ALTER TABLE events ADD COLUMN followed_up_at TEXT;
UPDATE events SET followed_up_at = ends_at
    WHERE ends_at <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now');
CREATE INDEX events_to_follow_up ON events(ends_at)
    WHERE followed_up_at IS NULL AND status = 'scheduled';
