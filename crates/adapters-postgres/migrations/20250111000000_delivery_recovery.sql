-- When a failed delivery was re-sent by `POST .../webhooks/{id}/recover`: each failed
-- delivery is recovered once.
ALTER TABLE deliveries ADD COLUMN recovered_at TIMESTAMPTZ NULL;
