-- records a device dropped over its outbox quota before the cloud confirmed them
alter table outbox_positions add column dropped_on_device bigint not null default 0;
