// Package channels holds the provider adapters: they verify and parse
// webhooks into crmpb.ChannelEvent, send messages and fetch media. They know
// the wire formats and nothing else: no database, no actors.
//
// One Provider per connection, built by providers.New from the connection's
// provider, channel and decrypted credentials.
//
// The HTTP layer, per webhook request:
//
//	GET  (Meta): body, err := p.Handshake(r.URL.Query())  → 200 text/plain body | 403
//	POST: err := p.VerifyWebhook(WebhookRequest{Header, Query, PathSecret, Body})
//	        → ErrInvalidSignature (401; crm.ErrUnauthenticated) | ErrInvalidPayload (400)
//	      events, err := p.Parse(body) → ErrInvalidPayload (400) or events to store
//	        in the inbox under ev.DedupeKey, then 200.
//
// ev.AccountId names the provider account (phone_number_id, page id, IG
// account id, instance name): one Meta app can post events of several numbers
// to one callback, so route on it.
//
// The engine (connection grain): p.Send → SendResult.ExternalID or a
// *SendError (KindOf, IsRetryable, RetryAfter, errors.Is(err,
// ErrWindowClosed)…); p.FetchMedia for inbound media (checked against its
// SHA-256); p.ListTemplates; and, for gateways, the InstanceManager methods.
package channels
