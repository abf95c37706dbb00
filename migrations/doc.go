// Package migrations holds the ordered SQL migrations of the whole data model,
// embedded in the binary, and the runner that applies them, followed by River's
// own migrations for the durable jobs' tables (river.go). It imports pgx and
// River's migrator; `crm migrate` and `crm serve` call Apply.
package migrations
