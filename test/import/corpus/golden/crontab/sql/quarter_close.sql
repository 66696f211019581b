UPDATE shop.fiscal_quarters SET closed = true WHERE ends_at < now() AND NOT closed;
INSERT INTO shop.audit_log (event) VALUES ('quarter closed');
