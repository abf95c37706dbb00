package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// nodeMeta is what a node tells the others about itself through memberlist's
// node metadata: where its protoactor remote listens and which grain kinds
// it hosts. The node id (the actor system id) doubles as the memberlist node
// name; it is repeated here so a decoded meta is self-contained.
type nodeMeta struct {
	ID     string
	Host   string
	Port   int
	Kinds  []string
	Client bool // a cluster client: talks to grains, hosts none
}

const (
	metaVersion    = 1
	metaFlagClient = 1 << 0
)

var errBadMeta = errors.New("malformed node metadata")

// encode lays the meta out compactly (version, flags, then length-prefixed
// fields) and checks it fits memberlist's 512-byte limit.
func (m nodeMeta) encode() ([]byte, error) {
	if m.ID == "" || m.Host == "" || m.Port <= 0 || m.Port > 65535 {
		return nil, fmt.Errorf("node metadata needs an id, a host and a port: %+v", m)
	}
	buf := make([]byte, 0, 64)
	var flags byte
	if m.Client {
		flags |= metaFlagClient
	}
	buf = append(buf, metaVersion, flags)
	buf = appendString(buf, m.ID)
	buf = appendString(buf, m.Host)
	buf = binary.AppendUvarint(buf, uint64(m.Port))
	buf = binary.AppendUvarint(buf, uint64(len(m.Kinds)))
	for _, k := range m.Kinds {
		buf = appendString(buf, k)
	}
	if len(buf) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("node metadata is %d bytes, memberlist allows %d: too many or too long kind names",
			len(buf), memberlist.MetaMaxSize)
	}
	return buf, nil
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// decodeMeta reads what encode wrote. Metadata comes from the network, so
// every length is checked against what is left.
func decodeMeta(b []byte) (nodeMeta, error) {
	var m nodeMeta
	if len(b) < 2 || b[0] != metaVersion {
		return m, errBadMeta
	}
	m.Client = b[1]&metaFlagClient != 0
	r := metaReader{b: b[2:]}
	m.ID = r.string()
	m.Host = r.string()
	port := r.uvarint()
	count := r.uvarint()
	if r.err != nil || port == 0 || port > 65535 || count > uint64(len(r.b)) {
		return nodeMeta{}, errBadMeta
	}
	m.Port = int(port)
	m.Kinds = make([]string, 0, count)
	for range count {
		m.Kinds = append(m.Kinds, r.string())
	}
	if r.err != nil || len(r.b) != 0 || m.ID == "" || m.Host == "" {
		return nodeMeta{}, errBadMeta
	}
	return m, nil
}

type metaReader struct {
	b   []byte
	err error
}

func (r *metaReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadMeta
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *metaReader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errBadMeta
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
