// Package httpapi is the HTTP edge: the gin REST API under /api/v1, the
// provider webhooks under /webhooks, the WebSocket upgrade, authentication and
// the one permission check every route makes, the error JSON, and the OpenAPI
// document generated from the same route table. It may import actors,
// realtime, jobs, persistence, channels and the root crm package, never pgx:
// what it reads or writes goes through persistence's functions.
package httpapi
