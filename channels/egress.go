package channels

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"crm"
)

// ErrForbiddenAddress: a provider call (or a simulator fetch) was about to
// connect to an address that is not public. Base URLs are set by tenants, so
// without this refusal a tenant admin could make the server call its own
// loopback services, the private network or a cloud metadata endpoint with
// the connection's token, and read part of the answer back.
var ErrForbiddenAddress = &crm.Error{Kind: crm.ErrUnprocessable, Code: "provider_address_forbidden",
	Message: "the provider's address is loopback, private, link-local or otherwise not public; " +
		"the operator may allow private addresses with CRM_ALLOW_PRIVATE_PROVIDER_URLS"}

// EgressConfig configures the transport every provider call goes through.
type EgressConfig struct {
	// AllowPrivate (CRM_ALLOW_PRIVATE_PROVIDER_URLS) turns the refusal off:
	// for tests and for self-hosted gateways on a LAN.
	AllowPrivate bool
	// DialTimeout bounds one connection attempt; default 10 s.
	DialTimeout time.Duration
}

// NewEgressTransport is the one transport for calls to the addresses tenants
// configure (Graph, uazapi, Evolution). Unless AllowPrivate, it refuses to
// connect to any address PublicIP rejects. The check runs in the dialer's
// Control hook, on the address actually being connected to after DNS
// resolution, so a name that resolves (or re-resolves, DNS rebinding) to a
// private address is refused too, and so is every redirect. It never uses an
// HTTP proxy from the environment: the proxy would resolve the name, out of
// the check's sight. Share one per process: it pools connections.
func NewEgressTransport(cfg EgressConfig) *http.Transport {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivate {
		dialer.Control = refuseNonPublic
	}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// refuseNonPublic is a net.Dialer Control hook: address is the resolved
// ip:port about to be connected to.
func refuseNonPublic(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read %q", ErrForbiddenAddress, address)
	}
	if !PublicIP(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, ap.Addr())
	}
	return nil
}

// notPublic are ranges netip's predicates don't name that still reach no
// public service (or reach one through a translation that hides a private
// address).
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT; some clouds' metadata (100.100.100.200)
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and the broadcast address
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: would reach any IPv4 address, private ones included
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2002::/16"),      // 6to4: embeds an IPv4 address
	netip.MustParsePrefix("fec0::/10"),      // deprecated site-local
}

// PublicIP reports whether ip may be called by provider calls: not loopback,
// private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16,
// where cloud metadata lives, fe80::/10), multicast, unspecified, nor one of
// the special ranges above. An IPv4-mapped IPv6 address is judged as IPv4.
func PublicIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// CheckPublicURL is the early, friendlier form of the dial-time refusal, for
// a URL a tenant is saving: an IP literal that is not public, or a name that
// is loopback by definition (localhost), is ErrForbiddenAddress. Other names
// are not resolved here (they could change); the dial-time check sees them.
func CheckPublicURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrForbiddenAddress, err)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, host)
	}
	if ip, err := netip.ParseAddr(host); err == nil && !PublicIP(ip) {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, ip)
	}
	return nil
}
