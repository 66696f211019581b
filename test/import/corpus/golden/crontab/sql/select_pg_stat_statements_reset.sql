SELECT pg_stat_statements_reset();
SELECT pg_stat_reset();
