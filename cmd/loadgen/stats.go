package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
)

// latencies collects samples (microseconds); safe for concurrent use.
type latencies struct {
	mu      sync.Mutex
	samples []int64
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.samples = append(l.samples, d.Microseconds())
	l.mu.Unlock()
}

// Summary is a latency distribution in milliseconds.
type Summary struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

func (l *latencies) summary() Summary {
	l.mu.Lock()
	s := slices.Clone(l.samples)
	l.mu.Unlock()
	return summarize(s)
}

func summarize(s []int64) Summary {
	if len(s) == 0 {
		return Summary{}
	}
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(q*float64(len(s))+0.5) - 1
		i = max(0, min(len(s)-1, i))
		return float64(s[i]) / 1000
	}
	var sum int64
	for _, v := range s {
		sum += v
	}
	return Summary{Count: len(s), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: float64(s[len(s)-1]) / 1000,
		Mean: float64(sum) / float64(len(s)) / 1000}
}

func (s Summary) String() string {
	return fmt.Sprintf("n=%d p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms", s.Count, s.P50, s.P90, s.P99, s.Max)
}

// Result is what a scenario writes with -out.
type Result struct {
	Scenario string            `json:"scenario"`
	Started  time.Time         `json:"started"`
	Seconds  float64           `json:"seconds"`
	Params   map[string]any    `json:"params"`
	Figures  map[string]any    `json:"figures"`
	Profiles map[string]string `json:"profiles,omitempty"`
	Notes    []string          `json:"notes,omitempty"`
}

func newResult(scenario string) *Result {
	return &Result{Scenario: scenario, Started: time.Now().UTC(), Params: map[string]any{}, Figures: map[string]any{},
		Profiles: map[string]string{}}
}

func (r *Result) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.Notes = append(r.Notes, msg)
	fmt.Println("  " + msg)
}

func (r *Result) write(path string) error {
	r.Seconds = time.Since(r.Started).Seconds()
	if path == "" {
		return nil
	}
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o644)
}
