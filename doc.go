// Package crm holds the domain types every layer shares: conversations and
// their statuses with the transitions between them, the 24-hour customer
// service window, messages and their delivery statuses (one ranking), tenant
// events, plans and tenants, roles and their permissions, the principal of a
// request, coded errors and small value helpers (phone numbers, pagination
// cursors). It imports nothing heavier than the standard library and
// google/uuid, so every adapter may depend on it. It does not import the
// generated proto package either: the layers that speak proto (actors)
// translate its enums to these types.
package crm
