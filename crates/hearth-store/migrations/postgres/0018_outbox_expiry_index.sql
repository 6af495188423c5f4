-- The messages that can expire while queued, by when: the worker's expiry sweep runs every round, and
-- without this index it read every queued message to find the few with a validity that has passed.
-- Only queued messages with a validity have an entry.
create index messages_queued_expiry on messages (valid_until) where status = 'queued' and valid_until is not null;
