UPDATE billing.carts SET state = 'expired'
WHERE state = 'open' AND updated_at < now() - interval '2 hours';
