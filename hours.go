package crm

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// BusinessHours is when a tenant answers: for each weekday, the intervals
// it is open, in its time zone. It lives in the tenant's settings under
// "business_hours"; a tenant without it is always open.
//
//	{"timezone": "America/Sao_Paulo", "days": {"mon": [["08:00", "18:00"]], "sat": [["09:00", "13:00"]]}}
type BusinessHours struct {
	Timezone string                 `json:"timezone"`
	Days     map[string][][2]string `json:"days"`
	// Holidays close whole days: "2026-12-25" once, "12-25" every year.
	Holidays []Holiday `json:"holidays,omitempty"`
}

// Holiday is a day the business is closed whatever the weekday.
type Holiday struct {
	Date string `json:"date"` // YYYY-MM-DD, or MM-DD for every year
	Name string `json:"name"`
}

// DefaultTimezone is the zone of a calendar that names none.
const DefaultTimezone = "America/Sao_Paulo"

var weekdayKeys = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Validate reports what is wrong, per field.
func (h BusinessHours) Validate() FieldErrors {
	fields := FieldErrors{}
	if _, err := time.LoadLocation(h.Timezone); h.Timezone != "" && err != nil {
		fields["timezone"] = "must be an IANA time zone such as America/Sao_Paulo"
	}
	for day, spans := range h.Days {
		known := false
		for _, k := range weekdayKeys {
			known = known || k == day
		}
		if !known {
			fields["days."+day] = "must be one of sun, mon, tue, wed, thu, fri, sat"
			continue
		}
		for i, s := range spans {
			from, ok1 := clockMinutes(s[0])
			to, ok2 := clockMinutes(s[1])
			if !ok1 || !ok2 || from >= to {
				fields[fmt.Sprintf("days.%s[%d]", day, i)] = "must be [\"HH:MM\", \"HH:MM\"] with the start before the end"
			}
		}
	}
	if len(h.Holidays) > 366 {
		fields["holidays"] = "must hold at most 366 days"
	}
	for i, d := range h.Holidays {
		if _, _, _, ok := parseHoliday(d.Date); !ok {
			fields[fmt.Sprintf("holidays[%d].date", i)] = "must be YYYY-MM-DD, or MM-DD for every year"
		}
		if len(d.Name) > 120 {
			fields[fmt.Sprintf("holidays[%d].name", i)] = "must be at most 120 characters"
		}
	}
	return fields
}

// parseHoliday reads YYYY-MM-DD (year > 0) or MM-DD (year 0).
func parseHoliday(s string) (year int, month time.Month, day int, ok bool) {
	every := len(s) == 5
	if every {
		s = "2000-" + s // a leap year, so 02-29 is a day
	}
	t, err := time.Parse("2006-01-02", s)
	switch {
	case err != nil:
		return 0, 0, 0, false
	case every:
		return 0, t.Month(), t.Day(), true
	}
	return t.Year(), t.Month(), t.Day(), true
}

// location is the calendar's zone (DefaultTimezone when unnamed, UTC when unknown).
func (h BusinessHours) location() *time.Location {
	name := h.Timezone
	if name == "" {
		name = DefaultTimezone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// holiday reports whether the local date y-m-d is a holiday.
func (h BusinessHours) holiday(y int, m time.Month, d int) bool {
	for _, hd := range h.Holidays {
		hy, hm, hdd, ok := parseHoliday(hd.Date)
		if ok && hm == m && hdd == d && (hy == 0 || hy == y) {
			return true
		}
	}
	return false
}

// span is one open interval.
type span struct{ from, to time.Time }

// spans are the open intervals of the local day holding t, in order (none
// on a holiday).
func (h BusinessHours) spans(day time.Time, loc *time.Location) []span {
	y, m, d := day.Date()
	if h.holiday(y, m, d) {
		return nil
	}
	var out []span
	for _, s := range h.Days[weekdayKeys[day.Weekday()]] {
		from, ok1 := clockMinutes(s[0])
		to, ok2 := clockMinutes(s[1])
		if !ok1 || !ok2 || from >= to {
			continue
		}
		out = append(out, span{time.Date(y, m, d, from/60, from%60, 0, 0, loc), time.Date(y, m, d, to/60, to%60, 0, 0, loc)})
	}
	slices.SortFunc(out, func(a, b span) int { return a.from.Compare(b.from) })
	return out
}

// calendarHorizon bounds the searches for the next or last open time: a
// calendar closed for longer than this is read as never open.
const calendarHorizon = 400

// LastClose is when the closed period holding t began: the end of the last
// open interval before t (the zero time when there was none within a year).
// It is meaningful when the calendar is closed at t; the outside-hours
// reply goes once per conversation per such period.
func (h BusinessHours) LastClose(t time.Time) time.Time {
	loc := h.location()
	local := t.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 12, 0, 0, 0, loc)
	for i := 0; i < calendarHorizon; i++ {
		spans := h.spans(day.AddDate(0, 0, -i), loc)
		for j := len(spans) - 1; j >= 0; j-- {
			if !spans[j].to.After(t) {
				return spans[j].to
			}
		}
	}
	return time.Time{}
}

// NextOpen is when the calendar next opens at or after t (t itself when
// open; the zero time when it does not open within a year).
func (h BusinessHours) NextOpen(t time.Time) time.Time {
	loc := h.location()
	local := t.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 12, 0, 0, 0, loc)
	for i := 0; i < calendarHorizon; i++ {
		for _, s := range h.spans(day.AddDate(0, 0, i), loc) {
			if s.to.After(t) {
				if s.from.After(t) {
					return s.from
				}
				return t
			}
		}
	}
	return time.Time{}
}

// Between is the open time between from and to: what first-response and
// SLA figures count when a tenant keeps business hours.
func (h BusinessHours) Between(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	loc := h.location()
	local := from.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 12, 0, 0, 0, loc)
	var total time.Duration
	for i := 0; i < 4000; i++ {
		d := day.AddDate(0, 0, i)
		if d.Add(-36 * time.Hour).After(to) {
			break
		}
		for _, s := range h.spans(d, loc) {
			a, b := maxTime(s.from, from), minTime(s.to, to)
			if b.After(a) {
				total += b.Sub(a)
			}
		}
	}
	return total
}

// Add is the instant when d of open time has passed since start (an SLA's
// due time); the zero time when the calendar never opens enough within a
// year.
func (h BusinessHours) Add(start time.Time, d time.Duration) time.Time {
	loc := h.location()
	local := start.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 12, 0, 0, 0, loc)
	left := d
	for i := 0; i < calendarHorizon; i++ {
		for _, s := range h.spans(day.AddDate(0, 0, i), loc) {
			a := maxTime(s.from, start)
			if !s.to.After(a) {
				continue
			}
			if avail := s.to.Sub(a); avail >= left {
				return a.Add(left)
			} else {
				left -= avail
			}
		}
	}
	return time.Time{}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// OpenAt reports whether the calendar is open at t (nil: always).
func OpenAt(h *BusinessHours, t time.Time) bool { return h == nil || h.Open(t) }

// BusinessBetween is the open time between from and to (nil: all of it).
func BusinessBetween(h *BusinessHours, from, to time.Time) time.Duration {
	if h == nil {
		return max(to.Sub(from), 0)
	}
	return h.Between(from, to)
}

// BusinessAdd is when d of open time has passed since start (nil: start+d).
func BusinessAdd(h *BusinessHours, start time.Time, d time.Duration) time.Time {
	if h == nil {
		return start.Add(d)
	}
	return h.Add(start, d)
}

// Open reports whether t falls in one of the day's intervals, in the
// hours' time zone (an unknown zone is read as UTC).
func (h BusinessHours) Open(t time.Time) bool {
	loc := h.location()
	local := t.In(loc)
	if h.holiday(local.Year(), local.Month(), local.Day()) {
		return false
	}
	now := local.Hour()*60 + local.Minute()
	for _, s := range h.Days[weekdayKeys[local.Weekday()]] {
		from, ok1 := clockMinutes(s[0])
		to, ok2 := clockMinutes(s[1])
		if ok1 && ok2 && from <= now && now < to {
			return true
		}
	}
	return false
}

// clockMinutes reads "HH:MM" (24:00 allowed as the end of a day).
func clockMinutes(s string) (int, bool) {
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) != 2 || len(mm) != 2 {
		return 0, false
	}
	var h, m int
	if _, err := fmt.Sscanf(hh+" "+mm, "%d %d", &h, &m); err != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m > 0) {
		return 0, false
	}
	return h*60 + m, true
}
