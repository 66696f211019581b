\set retention_days 90
-- Delete events older than 90 days, in batches of at most 50000 rows.
DELETE FROM events
WHERE id IN (
    SELECT id FROM events
    WHERE created_at < now() - interval '1 day' * :retention_days
    LIMIT 50000
);
DELETE FROM event_payloads p
WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = p.event_id);
