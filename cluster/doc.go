// Package cluster boots the protoactor-go cluster on hashicorp/memberlist.
//
// Start builds a node: an actor system, protoactor's gRPC remote, the
// cluster with the disthash identity lookup, and Provider, a ClusterProvider
// that gossips each node's remote address and grain kinds in memberlist
// metadata and pushes the full member list to the cluster on every join,
// leave and update and on a periodic resync. One node needs no
// configuration (loopback, free ports, no seeds); more nodes join through
// seeds; gossip is encrypted when a secret is set.
//
// Limits of protoactor-go at the pinned version that callers must design
// around (read in its source):
//   - disthash places an identity on the rendezvous-hash owner among members
//     hosting its kind; during a membership change two nodes can briefly run
//     the same identity, so grain writes are fenced in PostgreSQL.
//   - A member that left (gracefully or detected dead) is blocked by id for
//     the life of the process; a restarted node is welcome because its
//     actor system id is new.
//   - cluster.Request retries 3 times with nanosecond pauses, and a timed
//     out attempt may still be delivered: use Node.Request, which retries
//     until its context ends, and make handlers idempotent.
//   - cluster.RequestFuture uses a package-level default call config bound
//     to the first cluster created in the process: avoid it when several
//     nodes share a process (tests); use Request.
package cluster
