-- Hourly: drop expired sessions in batches small enough to keep locks short.
DELETE FROM app.sessions
 WHERE id IN (SELECT id FROM app.sessions WHERE expires_at < now() LIMIT 10000);
