// Package crmpb holds the protobuf messages between actors, the events the
// channel adapters produce, and the grains' snapshots. The .proto sources sit
// beside the generated Go; `make generate` regenerates it and CI fails when
// the generated code is stale. It imports nothing of ours.
package crmpb

//go:generate sh -c "protoc --proto_path=. --go_out=. --go_opt=paths=source_relative *.proto"
