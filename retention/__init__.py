"""Records retention: schedules, write-once locks, legal holds and approved disposal."""
