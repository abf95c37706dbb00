package crm_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm"
)

func TestLoginLimitsDecide(t *testing.T) {
	t.Parallel()
	l := crm.LoginLimits{FreeFailures: 3, FirstDelay: time.Second, MaxDelay: 8 * time.Second, IPFailures: 10,
		Window: 15 * time.Minute}.WithDefaults()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		pair     crm.PairFailures
		ip       crm.AddressFailures
		now      time.Time
		wait     time.Duration
		wantPair crm.PairFailures
		wantIP   crm.AddressFailures
	}{
		{name: "first attempt", now: t0, wantPair: crm.PairFailures{Count: 1, Last: t0},
			wantIP: crm.AddressFailures{Count: 1, Start: t0}},
		{name: "free failures left", pair: crm.PairFailures{Count: 2, Last: t0}, ip: crm.AddressFailures{Count: 2, Start: t0},
			now: t0, wantPair: crm.PairFailures{Count: 3, Last: t0}, wantIP: crm.AddressFailures{Count: 3, Start: t0}},
		{name: "first delay", pair: crm.PairFailures{Count: 3, Last: t0}, ip: crm.AddressFailures{Count: 3, Start: t0},
			now: t0.Add(400 * time.Millisecond), wait: 600 * time.Millisecond},
		{name: "doubled", pair: crm.PairFailures{Count: 5, Last: t0}, ip: crm.AddressFailures{Count: 5, Start: t0},
			now: t0, wait: 4 * time.Second},
		{name: "capped", pair: crm.PairFailures{Count: 40, Last: t0}, ip: crm.AddressFailures{Count: 9, Start: t0},
			now: t0, wait: 8 * time.Second},
		{name: "delay over", pair: crm.PairFailures{Count: 4, Last: t0}, ip: crm.AddressFailures{Count: 4, Start: t0},
			now: t0.Add(2 * time.Second), wantPair: crm.PairFailures{Count: 5, Last: t0.Add(2 * time.Second)},
			wantIP: crm.AddressFailures{Count: 5, Start: t0}},
		{name: "address capped", ip: crm.AddressFailures{Count: 10, Start: t0}, now: t0.Add(5 * time.Minute),
			wait: 10 * time.Minute},
		{name: "windows over", pair: crm.PairFailures{Count: 9, Last: t0}, ip: crm.AddressFailures{Count: 10, Start: t0},
			now: t0.Add(15 * time.Minute), wantPair: crm.PairFailures{Count: 1, Last: t0.Add(15 * time.Minute)},
			wantIP: crm.AddressFailures{Count: 1, Start: t0.Add(15 * time.Minute)}},
	}
	for _, tc := range cases {
		wait, pair, ip := l.Decide(tc.pair, tc.ip, tc.now)
		require.Equal(t, tc.wait, wait, tc.name)
		if tc.wait == 0 {
			require.Equal(t, tc.wantPair, pair, tc.name)
			require.Equal(t, tc.wantIP, ip, tc.name)
		}
	}
	require.Equal(t, crm.LoginLimits{FreeFailures: 3, FirstDelay: time.Second, MaxDelay: time.Minute, IPFailures: 30,
		Window: 15 * time.Minute}, crm.LoginLimits{}.WithDefaults())
	a := crm.LoginAttempt{Account: "ana@acme.test", IP: "192.0.2.1"}
	require.Len(t, a.PairKey(), 24)
	require.NotEqual(t, a.PairKey(), crm.LoginAttempt{Account: "ana@acme.test", IP: "192.0.2.2"}.PairKey())
	require.NotContains(t, a.PairKey(), "ana")
}
