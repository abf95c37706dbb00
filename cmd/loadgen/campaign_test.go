package main

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCampaignPhases(t *testing.T) {
	p, err := parsePhases("20:21, 600:200,60000:20001")
	require.NoError(t, err)
	require.Equal(t, []campaignPhase{{20, 21}, {600, 200}, {60000, 20001}}, p)
	require.InDelta(t, 60, p[0].plannedSeconds(), 1e-9, "21 at 20/min: 20 intervals of 3 s")
	require.InDelta(t, 19.9, p[1].plannedSeconds(), 1e-9)
	require.InDelta(t, 20, p[2].plannedSeconds(), 1e-9)
	for _, bad := range []string{"20", "0:10", "70000:10", "20:1", "x:y", ""} {
		_, err := parsePhases(bad)
		require.Error(t, err, bad)
	}
}

func TestPacingError(t *testing.T) {
	require.InDelta(t, 0.01, pacingError(60.6, 60), 1e-9)
	require.InDelta(t, 0.01, pacingError(59.4, 60), 1e-9)
	require.Zero(t, pacingError(20, 20))
	require.True(t, math.IsInf(pacingError(1, 0), 1))
}

func TestSentTotal(t *testing.T) {
	m := map[string]float64{`crm_sends_total{outcome="sent"}`: 120, `crm_sends_total{outcome="retry"}`: 7,
		`crm_sends_total{outcome="permanent"}`: 2, `crm_inbox_processed_total{outcome="ok"}`: 99}
	require.Equal(t, 120, sentTotal(m))
}
