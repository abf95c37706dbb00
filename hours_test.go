package crm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBusinessHoursOpen(t *testing.T) {
	h := BusinessHours{Timezone: "America/Sao_Paulo", Days: map[string][][2]string{
		"mon": {{"08:00", "12:00"}, {"13:00", "18:00"}}, "sat": {{"09:00", "24:00"}}}}
	require.Empty(t, h.Validate())
	sp, err := time.LoadLocation("America/Sao_Paulo")
	require.NoError(t, err)
	at := func(day, hour, minute int) time.Time { return time.Date(2026, 12, day, hour, minute, 0, 0, sp) } // 7 Dec 2026 is a Monday
	for _, c := range []struct {
		t    time.Time
		open bool
	}{
		{at(7, 7, 59), false}, {at(7, 8, 0), true}, {at(7, 12, 0), false}, {at(7, 12, 59), false},
		{at(7, 13, 0), true}, {at(7, 17, 59), true}, {at(7, 18, 0), false},
		{at(8, 10, 0), false}, // Tuesday: closed all day
		{at(12, 23, 59), true}, {at(13, 10, 0), false},
		{at(7, 10, 0).UTC(), true}, // the zone is the hours', not the instant's
	} {
		require.Equal(t, c.open, h.Open(c.t), "%s", c.t)
	}
}

func TestBusinessHoursValidate(t *testing.T) {
	bad := BusinessHours{Timezone: "Mars/Base", Days: map[string][][2]string{
		"mon": {{"18:00", "08:00"}}, "xyz": {{"08:00", "09:00"}}, "tue": {{"8:00", "25:00"}}}}
	fields := bad.Validate()
	require.Contains(t, fields, "timezone")
	require.Contains(t, fields, "days.mon[0]")
	require.Contains(t, fields, "days.xyz")
	require.Contains(t, fields, "days.tue[0]")
}
