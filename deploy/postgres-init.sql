-- Mounted into /docker-entrypoint-initdb.d by docker-compose.yml. The postgres
-- image runs it once, as POSTGRES_USER, when it initialises an empty data
-- directory (not on later starts: with an existing volume, create these by hand
-- or `docker compose down -v` first).
--
-- webhookd gets a role and a database of its own. Temporal's databases
-- (temporal, temporal_visibility) are created by the temporal-schema job.
-- As the database owner, webhookd may create tables in its public schema
-- (PostgreSQL 15+ grants that to the owner only).
CREATE ROLE webhookd LOGIN PASSWORD 'webhookd';
CREATE DATABASE webhookd OWNER webhookd;
