-- The outbox's work queues as partial indexes: a message has an entry there only while a worker may
-- act on it (queued, unknown, sending). Sent and final messages, nearly all of them after a while,
-- cost no entries, and each status change writes fewer index entries. The queries name the status
-- literally (`status = 'queued'`), so both stores use these indexes.
drop index messages_due;
drop index messages_sender_due;
drop index messages_lease;
create index messages_queued_due on messages (next_attempt_at) where status = 'queued';
create index messages_queued_sender_due on messages (sender, next_attempt_at) where status = 'queued';
create index messages_unknown_due on messages (next_attempt_at) where status = 'unknown';
create index messages_sending_lease on messages (lease_until) where status = 'sending';
