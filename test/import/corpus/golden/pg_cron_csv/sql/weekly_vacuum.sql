VACUUM (ANALYZE) app.orders;
VACUUM (ANALYZE) app.order_lines
