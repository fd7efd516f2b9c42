-- records stored ahead of a device's position (another bridge instance holds the one before):
-- kept until the position passes them, so each record is stored once whatever order it comes in
create table outbox_received (
  device_id varchar(64) not null,
  seq bigint not null,
  primary key (device_id, seq)
);
