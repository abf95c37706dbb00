package crm

import (
	"fmt"
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
}

var weekdayKeys = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Validate reports what is wrong, per field.
func (h BusinessHours) Validate() FieldErrors {
	fields := FieldErrors{}
	if _, err := time.LoadLocation(h.Timezone); h.Timezone == "" || err != nil {
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
	return fields
}

// Open reports whether t falls in one of the day's intervals, in the
// hours' time zone (an unknown zone is read as UTC).
func (h BusinessHours) Open(t time.Time) bool {
	loc, err := time.LoadLocation(h.Timezone)
	if err != nil {
		loc = time.UTC
	}
	local := t.In(loc)
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
