-- Roll the previous month's orders up into reporting.monthly_sales.
INSERT INTO reporting.monthly_sales (month, orders, revenue)
SELECT date_trunc('month', created_at), count(*), sum(total)
FROM orders
WHERE created_at >= date_trunc('month', now()) - interval '1 month'
  AND created_at < date_trunc('month', now())
GROUP BY 1
ON CONFLICT (month) DO UPDATE
SET orders = EXCLUDED.orders, revenue = EXCLUDED.revenue;
