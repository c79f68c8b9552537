-- The collections filter of the device's last pull, as a JSON array of names (NULL: every
-- collection), so that its status counts as pending only what its next pull brings.
ALTER TABLE devices ADD COLUMN last_collections TEXT;
