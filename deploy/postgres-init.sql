-- Runs once, when the postgres container initialises an empty data directory.
-- Temporal's auto-setup creates its own databases (temporal,
-- temporal_visibility); webhookd gets a role and a database of its own.
CREATE ROLE webhookd LOGIN PASSWORD 'webhookd';
CREATE DATABASE webhookd OWNER webhookd;
