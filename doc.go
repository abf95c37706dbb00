// Package crm holds the domain types every layer shares: roles and their
// permissions, the principal of a request, coded errors and small value
// helpers (phone numbers, pagination cursors). It imports nothing heavier
// than the standard library and google/uuid, so every adapter may depend on it.
package crm
