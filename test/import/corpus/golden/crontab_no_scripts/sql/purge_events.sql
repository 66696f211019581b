\set retention_days 90
-- TODO: replace with the contents of /opt/jobs/purge_events.sql from the old host.
DO $$ BEGIN RAISE EXCEPTION 'pg-cron-job import: copy /opt/jobs/purge_events.sql here'; END $$;
