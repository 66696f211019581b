-- Nightly purge: keep 90 days of events and their audit rows.
DELETE FROM app.event_audit a
 USING app.events e
 WHERE a.event_id = e.id
   AND e.created_at < now() - interval '90 days';

DELETE FROM app.events
 WHERE created_at < now() - interval '90 days';
