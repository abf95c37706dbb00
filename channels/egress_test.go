package channels

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm"
)

// TestEgressRefusesNonPublicAddresses: the provider transport refuses, at
// dial time, every address a tenant could use to reach the server's own
// network: nothing is connected to, whatever the URL's name.
func TestEgressRefusesNonPublicAddresses(t *testing.T) {
	t.Parallel()
	client := &http.Client{Timeout: 5 * time.Second, Transport: NewEgressTransport(EgressConfig{})}
	for _, target := range []string{
		"http://127.0.0.1:5432/",             // loopback (the database)
		"http://127.8.9.10/",                 // all of 127/8
		"http://10.1.2.3/",                   // private 10/8
		"http://172.16.0.1/",                 // private 172.16/12
		"http://192.168.1.1/",                // private 192.168/16
		"http://169.254.169.254/latest/meta", // link-local: cloud metadata
		"http://100.100.100.200/",            // carrier-grade NAT range (a cloud's metadata)
		"http://[::1]:8080/",                 // IPv6 loopback
		"http://[fd00::1]/",                  // IPv6 unique local
		"http://[fe80::1]/",                  // IPv6 link-local
		"http://[::ffff:127.0.0.1]/",         // IPv4-mapped loopback
		"http://0.0.0.0:8080/",               // unspecified (reaches this host)
		"http://[::]:8080/",                  // unspecified, IPv6
		"http://224.0.0.1/",                  // multicast
		"http://localhost:5432/",             // a name resolving to loopback
	} {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, target, nil)
		require.NoError(t, err)
		res, err := client.Do(req)
		if res != nil {
			res.Body.Close()
		}
		require.ErrorIs(t, err, ErrForbiddenAddress, target)
		require.ErrorIs(t, err, crm.ErrUnprocessable, target)
	}
}

// TestEgressLoopbackServer: a real server on loopback is never reached by
// default (neither directly nor by name); the operator's
// CRM_ALLOW_PRIVATE_PROVIDER_URLS reaches it.
func TestEgressLoopbackServer(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("internal secret"))
	}))
	t.Cleanup(srv.Close)
	port := netip.MustParseAddrPort(srv.Listener.Addr().String()).Port()
	byName := "http://localhost:" + strconv.Itoa(int(port)) + "/"

	strict := &http.Client{Transport: NewEgressTransport(EgressConfig{})}
	for _, target := range []string{srv.URL, byName} {
		_, err := strict.Get(target)
		require.ErrorIs(t, err, ErrForbiddenAddress, target)
	}
	require.Zero(t, hits.Load(), "the refusal happens before connecting")

	// A redirect to loopback from an allowed address is refused the same way.
	redirector := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host == "public.example" {
			return &http.Response{StatusCode: http.StatusFound, Header: http.Header{"Location": {srv.URL + "/metadata"}},
				Body: http.NoBody, Request: r}, nil
		}
		return NewEgressTransport(EgressConfig{}).RoundTrip(r)
	})}
	_, err := redirector.Get("http://public.example/")
	require.ErrorIs(t, err, ErrForbiddenAddress)
	require.Zero(t, hits.Load())

	open := &http.Client{Transport: NewEgressTransport(EgressConfig{AllowPrivate: true})}
	for _, target := range []string{srv.URL, byName} {
		res, err := open.Get(target)
		require.NoError(t, err, target)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	require.EqualValues(t, 2, hits.Load())
}

// TestEgressRefusalIsPermanent: a send refused by the guard is not retried
// (it would reach the same address again).
func TestEgressRefusalIsPermanent(t *testing.T) {
	t.Parallel()
	client := &http.Client{Transport: NewEgressTransport(EgressConfig{})}
	_, err := client.Get("http://10.0.0.1/")
	se := TransportError(context.Background(), err)
	require.Equal(t, Permanent, se.Kind)
	require.ErrorIs(t, se, ErrForbiddenAddress)
}

func TestPublicIP(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"8.8.8.8": true, "157.240.0.1": true, "2a03:2880:f003:c07:face:b00c::2": true, "2606:4700::1111": true,
		"127.0.0.1": false, "10.255.0.1": false, "172.31.255.255": false, "172.32.0.1": true, "192.168.0.1": false,
		"169.254.169.254": false, "100.64.0.1": false, "0.1.2.3": false, "255.255.255.255": false, "240.0.0.1": false,
		"224.0.0.251": false, "239.1.1.1": false, "198.18.0.1": false, "192.0.0.170": false,
		"::1": false, "::": false, "fc00::1": false, "fe80::1": false, "ff02::1": false, "ff01::1": false,
		"::ffff:10.0.0.1": false, "::ffff:8.8.8.8": true, "64:ff9b::a00:1": false, "2002:a00:1::1": false, "fec0::1": false,
	}
	for raw, want := range cases {
		require.Equal(t, want, PublicIP(netip.MustParseAddr(raw)), raw)
	}
}

func TestCheckPublicURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"https://graph.facebook.com", "https://acme.uazapi.com/", "http://8.8.8.8:8080/x",
		"https://evo.example.com"} {
		require.NoError(t, CheckPublicURL(ok), ok)
	}
	for _, bad := range []string{"http://127.0.0.1:5432", "http://localhost:8080", "http://LOCALHOST.", "http://db.localhost",
		"http://10.0.0.8", "http://169.254.169.254/latest", "http://[::1]/", "http://[::ffff:192.168.0.1]/", "http://0.0.0.0"} {
		require.ErrorIs(t, CheckPublicURL(bad), ErrForbiddenAddress, bad)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
