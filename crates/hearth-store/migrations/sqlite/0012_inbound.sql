-- Twin of migrations/postgres/0012_inbound.sql.
create table inbound_messages (
    id            text primary key,
    org_id        text references organizations (id),
    provider      text not null,
    kind          text not null,
    dedup_key     text not null,
    provider_id   text not null,
    account_id    text,
    message_id    text,
    channel       text,
    from_address  text,
    to_address    text,
    body          text,
    status        text,
    error_code    text,
    payload       text not null,
    received_at   text not null,
    processed_at  text,
    outcome       text,
    constraint inbound_messages_dedup_key_key unique (dedup_key)
) strict;
create index inbound_messages_provider_id on inbound_messages (provider, provider_id);
create index inbound_messages_org_received on inbound_messages (org_id, received_at);
create index inbound_messages_unprocessed on inbound_messages (received_at) where processed_at is null;
