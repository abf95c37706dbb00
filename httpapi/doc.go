// Package httpapi is the HTTP edge: the gin REST API under /api/v1, the
// provider webhooks under /webhooks, the WebSocket upgrade, authentication and
// the one permission check every route makes, the error JSON, and the OpenAPI
// document generated from the same route table. It may import actors,
// persistence, channels and the root crm package.
package httpapi
