package cluster

import (
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	sockaddr "github.com/hashicorp/go-sockaddr"
	"github.com/hashicorp/memberlist"
)

// Config says how a node joins the cluster. The zero value is a working
// single node: gossip and remoting on loopback with free ports, no seeds.
type Config struct {
	// Name of the cluster; nodes with another name ignore each other (it is
	// the memberlist packet label). Default "crm".
	Name string
	// BindAddr is host:port for memberlist gossip (TCP and UDP). Default
	// "127.0.0.1:0" (a free port). A host without a port binds 7946.
	BindAddr string
	// AdvertiseAddr is host:port the other nodes reach this node's gossip
	// at, when it differs from BindAddr (containers, NAT).
	AdvertiseAddr string
	// Seeds are gossip addresses (host:port) of nodes to join; empty forms
	// a cluster of one. A node keeps retrying its seeds until it joins, and
	// is not ready before.
	Seeds []string
	// Secret, when set, encrypts gossip with AES-256-GCM under
	// SHA-256(Secret). All nodes need the same secret.
	Secret string

	// RemoteHost is where the protoactor remote (gRPC) listens. Default
	// 127.0.0.1, or the BindAddr host when that is not loopback.
	RemoteHost string
	// RemotePort of the protoactor remote; 0 picks a free port.
	RemotePort int
	// RemoteAdvertiseHost is the host other nodes dial for remoting.
	// Default: the AdvertiseAddr host, else RemoteHost, else (RemoteHost is
	// a wildcard such as 0.0.0.0) this machine's private IP, as memberlist
	// picks for gossip.
	RemoteAdvertiseHost string

	// Kinds are the grain kinds this node hosts, merged with those given
	// to Start.
	Kinds []*Kind
	// Client joins as a cluster client: it gossips and calls grains but
	// hosts none and is not a member of the topology (a load generator, an
	// admin command).
	Client bool

	// RequestTimeout bounds one grain request attempt. Default 5s.
	RequestTimeout time.Duration
	// ResyncInterval is how often the full member list is pushed to the
	// cluster even without memberlist events. Default 2s.
	ResyncInterval time.Duration
	// LeaveTimeout bounds the wait for the leave broadcast on a graceful
	// shutdown. Default 3s.
	LeaveTimeout time.Duration
	// Tune adjusts memberlist's configuration after the defaults (LAN
	// profile) and this Config are applied: tests shorten probe intervals
	// so a killed node is detected quickly.
	Tune func(*memberlist.Config)

	// Logger receives the node's logs. Default slog.Default().
	Logger *slog.Logger
	// ActorLogLevel is the lowest level of protoactor's own logs that is
	// kept (it logs every topology change at Info). Default Warn.
	ActorLogLevel *slog.Level
}

// defaultGossipPort is memberlist's usual port, used for a BindAddr or a
// seed given without a port.
const defaultGossipPort = 7946

// FromEnv reads the cluster settings of the environment variables DESIGN §7
// names: CRM_CLUSTER_BIND, CRM_CLUSTER_ADVERTISE, CRM_CLUSTER_SEEDS (comma
// separated), CRM_CLUSTER_SECRET, plus CRM_CLUSTER_REMOTE_PORT for the
// protoactor remote. Unset variables keep the single-node defaults.
func FromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		BindAddr:      strings.TrimSpace(getenv("CRM_CLUSTER_BIND")),
		AdvertiseAddr: strings.TrimSpace(getenv("CRM_CLUSTER_ADVERTISE")),
		Secret:        getenv("CRM_CLUSTER_SECRET"),
	}
	for _, seed := range strings.Split(getenv("CRM_CLUSTER_SEEDS"), ",") {
		if seed = strings.TrimSpace(seed); seed != "" {
			cfg.Seeds = append(cfg.Seeds, seed)
		}
	}
	if p := strings.TrimSpace(getenv("CRM_CLUSTER_REMOTE_PORT")); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 0 || port > 65535 {
			return Config{}, fmt.Errorf("CRM_CLUSTER_REMOTE_PORT %q is not a port", p)
		}
		cfg.RemotePort = port
	}
	return cfg, nil
}

// resolved is Config with defaults filled and addresses split.
type resolved struct {
	Config
	bindHost      string
	bindPort      int
	advertiseHost string
	advertisePort int
}

func (c Config) resolve() (resolved, error) {
	r := resolved{Config: c}
	r.Seeds = slices.Clone(c.Seeds) // normalised below; the caller's slice stays as given
	if r.Name == "" {
		r.Name = "crm"
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.RequestTimeout <= 0 {
		r.RequestTimeout = 5 * time.Second
	}
	if r.ResyncInterval <= 0 {
		r.ResyncInterval = 2 * time.Second
	}
	if r.LeaveTimeout <= 0 {
		r.LeaveTimeout = 3 * time.Second
	}
	if r.ActorLogLevel == nil {
		level := slog.LevelWarn
		r.ActorLogLevel = &level
	}
	bind := r.BindAddr
	if bind == "" {
		bind = "127.0.0.1:0"
	}
	var err error
	if r.bindHost, r.bindPort, err = splitHostPort(bind, defaultGossipPort); err != nil {
		return r, fmt.Errorf("cluster bind address: %w", err)
	}
	if r.AdvertiseAddr != "" {
		if r.advertiseHost, r.advertisePort, err = splitHostPort(r.AdvertiseAddr, r.bindPort); err != nil {
			return r, fmt.Errorf("cluster advertise address: %w", err)
		}
	}
	for i, seed := range r.Seeds {
		host, port, err := splitHostPort(seed, defaultGossipPort)
		if err != nil {
			return r, fmt.Errorf("cluster seed %q: %w", seed, err)
		}
		r.Seeds[i] = net.JoinHostPort(host, strconv.Itoa(port))
	}
	if r.RemoteHost == "" {
		r.RemoteHost = "127.0.0.1"
		if ip := net.ParseIP(r.bindHost); ip == nil || !ip.IsLoopback() {
			r.RemoteHost = r.bindHost
		}
	}
	if r.RemoteAdvertiseHost == "" {
		r.RemoteAdvertiseHost = r.advertiseHost
		if r.RemoteAdvertiseHost == "" {
			r.RemoteAdvertiseHost = r.RemoteHost
		}
	}
	if ip := net.ParseIP(r.RemoteAdvertiseHost); ip != nil && ip.IsUnspecified() {
		// Listening on every interface: advertise the private address
		// memberlist would pick for gossip too.
		private, err := sockaddr.GetPrivateIP()
		if err != nil || private == "" {
			return r, fmt.Errorf("remoting listens on %s and no private address was found: set CRM_CLUSTER_ADVERTISE", r.RemoteAdvertiseHost)
		}
		r.RemoteAdvertiseHost = private
	}
	if r.RemotePort < 0 || r.RemotePort > 65535 {
		return r, fmt.Errorf("remote port %d out of range", r.RemotePort)
	}
	return r, nil
}

func splitHostPort(addr string, defaultPort int) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		// No port: the whole thing is a host (IPv6 literals need brackets
		// only with a port).
		if strings.Contains(err.Error(), "missing port") {
			return strings.Trim(addr, "[]"), defaultPort, nil
		}
		return "", 0, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}
