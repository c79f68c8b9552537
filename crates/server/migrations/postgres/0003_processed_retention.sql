-- Who pushed each processed change, for which record, and when. A change its device has since
-- superseded with a newer change of the same record is never sent again by that device, so the
-- server may forget it once it is older than the retention (a day by default): only a request
-- delayed in the network longer than that could bring it back. Rows written before this
-- migration have none of these and are kept.
ALTER TABLE processed_changes ADD COLUMN device_id TEXT;
ALTER TABLE processed_changes ADD COLUMN collection TEXT;
ALTER TABLE processed_changes ADD COLUMN record_id TEXT;
ALTER TABLE processed_changes ADD COLUMN processed_at BIGINT;
CREATE INDEX processed_by_record
    ON processed_changes (user_id, device_id, collection, record_id, processed_at);
