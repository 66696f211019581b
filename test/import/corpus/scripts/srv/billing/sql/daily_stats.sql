INSERT INTO billing.daily_stats (day, invoices, total)
SELECT current_date - 1, count(*), coalesce(sum(amount), 0)
FROM billing.invoices
WHERE issued_at >= current_date - 1 AND issued_at < current_date;
SELECT :'report_day' AS reported_day;
