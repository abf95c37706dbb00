package realtime

import (
	"github.com/google/uuid"

	"crm/cluster"
	"crm/persistence"
	crmpb "crm/proto"
)

// Router is the engine's actors.Publisher on a cluster node (the serve
// command checks that it is one; this package does not import the grains):
// it hands each batch of committed events to the members' gateways.
type Router struct {
	node *cluster.Node
}

// NewRouter builds the router of node.
func NewRouter(node *cluster.Node) *Router { return &Router{node: node} }

// Publish sends the events, encoded once, to the gateway of every member
// (including this one): the fast path of live delivery. It is
// fire-and-forget; a member that misses it is covered by resume (DESIGN §5.4).
func (r *Router) Publish(tenantID uuid.UUID, events []persistence.TenantEvent) {
	if len(events) == 0 {
		return
	}
	batch := &crmpb.TenantEvents{Events: make([]*crmpb.TenantEvent, 0, len(events))}
	for _, ev := range events {
		batch.Events = append(batch.Events, EventToProto(tenantID, ev))
	}
	root := r.node.System().Root
	for _, m := range r.node.Members() {
		root.Send(GatewayPID(m.Address), batch)
	}
}
