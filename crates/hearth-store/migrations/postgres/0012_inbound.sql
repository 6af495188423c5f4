-- What providers send to Hearth, as received: status callbacks of outbound messages (Twilio
-- MessageStatus / CallStatus) and inbound messages (patient replies). Persisted before any work, so a
-- receipt is never lost; `processed_at` is set once it has been applied (status) or handled (reply).
-- A provider's retry of the same callback is a no-op (`dedup_key`).
--
-- `org_id` is null when the receipt cannot be tied to an organization yet: it comes from the signed
-- `?org=` of the webhook URL, else the only organization of a single-tenant installation, else the
-- outbound message a status callback names (`message_id`, from our StatusCallback URL).
-- `message_id` has no foreign key: a callback may name a message this database does not hold.
create table inbound_messages (
    id            uuid primary key,
    org_id        uuid references organizations (id),
    provider      text not null,              -- twilio
    kind          text not null,              -- status | reply
    dedup_key     text not null,              -- provider:kind:sid[:status]
    provider_id   text not null,              -- MessageSid / CallSid
    account_id    text,                       -- AccountSid
    message_id    uuid,                       -- Hearth's outbound message (status callbacks)
    channel       text,                       -- sms | whatsapp | voice
    from_address  text,
    to_address    text,
    body          text,                       -- replies only
    status        text,                       -- the provider's status word
    error_code    text,                       -- the provider's error code (Twilio ErrorCode)
    payload       text not null,              -- every field as received (JSON object)
    received_at   timestamptz not null,
    processed_at  timestamptz,
    outcome       text,                       -- moved | stale | unknown_message | unmapped | failed
    constraint inbound_messages_dedup_key_key unique (dedup_key)
);
create index inbound_messages_provider_id on inbound_messages (provider, provider_id);
create index inbound_messages_org_received on inbound_messages (org_id, received_at);
create index inbound_messages_unprocessed on inbound_messages (received_at) where processed_at is null;
