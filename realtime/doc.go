// Package realtime is live delivery to the consoles: one Session per
// WebSocket, the node's Gateway that routes tenant events to its sessions
// (the hub), and the frame encoding (gobwas/ws). Nothing here is durable:
// completeness comes from the tenant event sequence, which a console
// replays with Session.Resume after a reconnect (DESIGN §5.4); live pushes
// are only the fast path.
//
// The grains do not import this package, nor it them: the engine hands each
// batch of committed events to an actors.Publisher, and the serve command
// gives it this node's Router, which sends the batch only to the members
// whose gateways hold sessions of its tenant (the gateways tell each other
// which tenants they hold; see Router).
package realtime
