// Package actors holds the grains (tenant, connection, conversation) and the
// local actors (session, gateway) of the engine.
//
// Each actor's decisions live in a plain Go type beside it, testable without
// an actor system: ConversationState is the conversation grain's state
// machine (statuses, assignment, unread counts, per-conversation sequence,
// 24-hour window, forward-only delivery statuses with parking, idempotency of
// inbound external ids and send idempotency keys, bot state). The grain
// around it only loads and fences snapshots, persists what an outcome says
// changed and pushes events.
//
// Handlers are idempotent because protoactor-go may deliver a request twice
// (RequestFuture retries), and the pure types are deterministic: they take
// the time of each command as an argument instead of reading a clock.
package actors
