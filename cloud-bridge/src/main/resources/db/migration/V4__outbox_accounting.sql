-- each device's telemetry accounting: the first record the cloud was sent (its outbox position at
-- first contact) and how many records were stored; with dropped_on_device, every sequence number
-- below next_seq is accounted for: next_seq - first_seq = received + dropped_on_device
alter table outbox_positions add column first_seq bigint not null default 0;
alter table outbox_positions add column received bigint not null default 0;
