-- TODO: replace with the contents of /opt/jobs/monthly_rollup.sql from the old host.
DO $$ BEGIN RAISE EXCEPTION 'pg-cron-job import: copy /opt/jobs/monthly_rollup.sql here'; END $$;
