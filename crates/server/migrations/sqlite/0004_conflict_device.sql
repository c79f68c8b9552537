-- The device whose change opened each conflict. A newer change of the same record from that
-- device closes the device's open conflict on it (status 'superseded'): the device no longer
-- lists it and could not resolve it. Open conflicts written before take theirs from the change.
ALTER TABLE conflicts ADD COLUMN device_id TEXT;
UPDATE conflicts SET device_id = json_extract(client_change, '$.deviceId') WHERE status = 'open';
