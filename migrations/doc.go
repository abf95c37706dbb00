// Package migrations holds the ordered SQL migrations of the whole data model,
// embedded in the binary, and the runner that applies them. It imports only
// pgx; `crm migrate` and `crm serve` call Apply.
package migrations
