-- TODO: replace with the contents of /opt/jobs/invoice_reminders.sql from the old host.
DO $$ BEGIN RAISE EXCEPTION 'pg-cron-job import: copy /opt/jobs/invoice_reminders.sql here'; END $$;
