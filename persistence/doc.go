// Package persistence owns PostgreSQL (pgx v5): the pool, tenant-scoped
// transactions under row-level security, the platform path, the stores of
// each entity, snapshots and blob storage. It may import the root crm package,
// proto and migrations; never httpapi or actors.
package persistence
