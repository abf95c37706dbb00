// Package actors holds the grains (tenant, connection, conversation) of the
// engine. Live delivery of their events to the consoles (sessions, the
// per-node gateway) is package realtime.
//
// The conversation grain decides everything about its conversation with
// plain functions beside it, testable without an actor system and given the
// time as an argument: applyInbound (sequence, unread count, 24-hour window,
// reopening), assign and changeStatus, on the domain's rules (the statuses,
// their transitions and the window are in package crm). It then stores the
// result fenced on the conversation's version, through the node's group
// commit (committer.go) for inbound messages or a transaction of its own for
// commands and sends, and pushes the events.
//
// Handlers are idempotent because protoactor-go may deliver a request twice
// (RequestFuture retries): inbound events are deduplicated on the provider's
// message id, sends on their idempotency key, and a grain answers a retried
// inbound request from its memory of the last few.
package actors
