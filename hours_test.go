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

// 2026 in São Paulo has no daylight saving (abolished in 2019): the offset
// stays -03:00 all year, and the calendar's arithmetic must not drift.
func TestBusinessHoursCalendar(t *testing.T) {
	sp, err := time.LoadLocation("America/Sao_Paulo")
	require.NoError(t, err)
	week := [][2]string{{"08:00", "12:00"}, {"13:00", "18:00"}}
	h := BusinessHours{Days: map[string][][2]string{"mon": week, "tue": week, "wed": week, "thu": week, "fri": week},
		Holidays: []Holiday{{Date: "12-25", Name: "Natal"}, {Date: "2026-12-24", Name: "Véspera"}}}
	require.Empty(t, h.Validate(), "an unnamed zone is São Paulo")
	at := func(month time.Month, day, hour, minute int) time.Time {
		return time.Date(2026, month, day, hour, minute, 0, 0, sp)
	}
	// Holidays: Thursday 24 (this year only) and Friday 25 (every year).
	require.True(t, h.Open(at(12, 23, 10, 0)))
	require.False(t, h.Open(at(12, 24, 10, 0)))
	require.False(t, h.Open(at(12, 25, 10, 0)))
	require.False(t, (BusinessHours{Days: h.Days, Holidays: []Holiday{{Date: "2025-12-23"}}}).Open(at(12, 23, 10, 0).AddDate(-1, 0, 0)))
	require.True(t, (BusinessHours{Days: h.Days, Holidays: []Holiday{{Date: "2025-12-23"}}}).Open(at(12, 23, 10, 0)))

	// The closed period around the holidays began Wednesday 23 at 18:00,
	// and ends Monday 28 at 08:00.
	require.Equal(t, at(12, 23, 18, 0), h.LastClose(at(12, 26, 3, 0)))
	require.Equal(t, at(12, 23, 18, 0), h.LastClose(at(12, 28, 7, 59)))
	require.Equal(t, at(12, 28, 8, 0), h.NextOpen(at(12, 23, 18, 30)))
	require.Equal(t, at(12, 28, 12, 0), h.LastClose(at(12, 28, 12, 30)), "lunch is a closed period of its own")
	require.Equal(t, at(12, 28, 9, 0), h.NextOpen(at(12, 28, 9, 0)), "open now: now")

	// Business time: Wednesday 17:00 to Monday 09:30 is 1 h + 1 h 30 min.
	require.Equal(t, 150*time.Minute, h.Between(at(12, 23, 17, 0), at(12, 28, 9, 30)))
	require.Equal(t, time.Duration(0), h.Between(at(12, 24, 0, 0), at(12, 27, 23, 0)))
	require.Equal(t, 9*time.Hour, h.Between(at(3, 2, 0, 0), at(3, 3, 0, 0)), "a whole Monday")
	// An SLA of 2 business hours from Wednesday 17:00 is due Monday 09:00.
	require.Equal(t, at(12, 28, 9, 0), h.Add(at(12, 23, 17, 0), 2*time.Hour))
	require.Equal(t, at(12, 28, 13, 30), h.Add(at(12, 28, 11, 0), 90*time.Minute), "lunch is not counted")
	// The offset never moves in 2026: the same local hours all year.
	for m := time.January; m <= time.December; m++ {
		_, off := at(m, 15, 12, 0).Zone()
		require.Equal(t, -3*3600, off, "%s", m)
	}
	// nil is always open.
	require.True(t, OpenAt(nil, at(12, 25, 3, 0)))
	require.Equal(t, time.Hour, BusinessBetween(nil, at(12, 25, 3, 0), at(12, 25, 4, 0)))
	require.Equal(t, at(12, 25, 4, 0), BusinessAdd(nil, at(12, 25, 3, 0), time.Hour))

	bad := BusinessHours{Holidays: []Holiday{{Date: "2026-02-30"}, {Date: "25/12"}}}
	fields := bad.Validate()
	require.Contains(t, fields, "holidays[0].date")
	require.Contains(t, fields, "holidays[1].date")
	never := BusinessHours{Days: map[string][][2]string{}}
	require.True(t, never.LastClose(at(5, 1, 10, 0)).IsZero())
	require.True(t, never.NextOpen(at(5, 1, 10, 0)).IsZero())
}
