// Package cluster boots the protoactor-go cluster on hashicorp/memberlist: a
// ClusterProvider (StartMember, StartClient, Shutdown) that gossips node
// metadata and pushes the full member list to the cluster on every change. It
// may import proto and the root crm package.
package cluster

import (
	_ "github.com/asynkron/protoactor-go/cluster"
	_ "github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	_ "github.com/asynkron/protoactor-go/remote"
	_ "github.com/hashicorp/memberlist"
)
