package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"crm"
)

// The campaign scenario (issue 17): campaigns at three paces against the
// sandbox, each measured by when the provider accepted its first and last
// message (messages.sent_at, written when the provider answered), against the
// plan of (N−1) intervals; the provider calls counted by the node's
// crm_sends_total (a recipient sent twice would show as one call too many);
// and agents' replies on the same number, request → provider, with no
// campaign running and while the fastest one runs.

// campaignPhase is one campaign: its pace and how many recipients.
type campaignPhase struct {
	PerMinute  int `json:"rate_per_minute"`
	Recipients int `json:"recipients"`
}

// parsePhases reads "20:21,600:200": rate per minute and recipients.
func parsePhases(s string) ([]campaignPhase, error) {
	var out []campaignPhase
	for _, part := range strings.Split(s, ",") {
		rate, n, ok := strings.Cut(strings.TrimSpace(part), ":")
		r, err1 := strconv.Atoi(rate)
		k, err2 := strconv.Atoi(n)
		if !ok || err1 != nil || err2 != nil || r < 1 || r > 60000 || k < 2 {
			return nil, fmt.Errorf("phase %q: want RATE_PER_MINUTE:RECIPIENTS, rate 1..60000, at least 2 recipients", part)
		}
		out = append(out, campaignPhase{PerMinute: r, Recipients: k})
	}
	return out, nil
}

// plannedSeconds is how long a campaign's sends should span: N−1 intervals.
func (p campaignPhase) plannedSeconds() float64 {
	return float64(p.Recipients-1) * 60 / float64(p.PerMinute)
}

// pacingError is |actual − planned| / planned.
func pacingError(actual, planned float64) float64 {
	if planned <= 0 {
		return math.Inf(1)
	}
	return math.Abs(actual-planned) / planned
}

// campaignOutcome is one phase's figures.
type campaignOutcome struct {
	campaignPhase
	PlannedS      float64 `json:"planned_s"`
	ActualS       float64 `json:"actual_s"`
	ErrorPct      float64 `json:"error_pct"`
	Sent          int     `json:"sent"`
	ProviderCalls int     `json:"provider_calls"`
	Duplicates    int     `json:"duplicates"`
	Status        string  `json:"status"`
	// Stats are the campaign's recipients by status at the end.
	Stats  map[string]int `json:"stats"`
	StartS float64        `json:"start_to_first_s"`
}

// sentTotal sums crm_sends_total{outcome="sent"}: the provider calls that
// were accepted.
func sentTotal(m map[string]float64) int {
	var n float64
	for k, v := range m {
		if strings.HasPrefix(k, "crm_sends_total") && strings.Contains(k, `"sent"`) {
			n += v
		}
	}
	return int(n)
}

func campaignCommand(args []string) error {
	fs := flag.NewFlagSet("campaign", flag.ContinueOnError)
	common := registerCommon(fs)
	phasesFlag := fs.String("phases", "20:21,600:200,60000:3001", "campaigns to run one after another, RATE_PER_MINUTE:RECIPIENTS")
	sendRate := fs.Int("send-rate", 1500, "the node's CRM_SEND_RATE (messages a second per connection; campaigns get 80%)")
	agentRate := fs.Float64("agent-rate", 20, "agent replies a second on the same number, without and during the fastest campaign")
	agentDuration := fs.Duration("agent-duration", 10*time.Second, "how long agents reply in each of the two windows")
	agentConvs := fs.Int("agent-conversations", 20, "conversations agents reply in")
	profileSecs := fs.Int("profile-seconds", 4, "CPU profile of the node during the fastest campaign (0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	phases, err := parsePhases(*phasesFlag)
	if err != nil {
		return err
	}
	if os.Getenv("CRM_SEND_RATE") == "" {
		os.Setenv("CRM_SEND_RATE", strconv.Itoa(*sendRate)) // the node inherits the environment
	}
	ctx, cancel := common.context()
	defer cancel()
	res := newResult("campaign")
	s, err := common.start(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Printf("campaign: node %s (pid %d), CRM_SEND_RATE=%s\n", s.base, s.pid, os.Getenv("CRM_SEND_RATE"))
	fx, err := makeFixture(ctx, s, fixtureOptions{Tenants: 1, ConnsEach: 1, Login: true, StatusDelayMS: []int{50, 50, 50}})
	if err != nil {
		return err
	}
	res.Params = map[string]any{"phases": phases, "send_rate": os.Getenv("CRM_SEND_RATE"), "agent_rate": *agentRate,
		"agent_duration_s": agentDuration.Seconds(), "agent_conversations": *agentConvs}
	client := newHTTPClient(64)
	t, conn := fx.Tenants[0], fx.Connections[0]

	gen := &webhookGen{run: randomHex(4), conns: fx.Connections, contacts: *agentConvs, batch: 1}
	convs, err := openConversations(ctx, client, s.base, fx, gen, *agentConvs)
	if err != nil {
		return err
	}
	agents := &agentReplies{ctx: ctx, client: client, base: s.base, token: t.Token, convs: convs[0], runID: gen.run, s: s, tenant: t.ID}
	idle, err := agents.run(*agentRate, *agentDuration, "idle")
	if err != nil {
		return err
	}
	fmt.Printf("  agent reply → provider, no campaign: %s\n", idle)
	res.Figures["agent_to_provider_idle"] = idle

	var outcomes []campaignOutcome
	var profMu sync.Mutex
	for i, p := range phases {
		fastest := true
		for _, q := range phases {
			fastest = fastest && q.PerMinute <= p.PerMinute
		}
		out, during, err := runCampaignPhase(ctx, s, client, t, conn, i, p, func() (Summary, error) {
			if !fastest {
				return Summary{}, nil
			}
			time.Sleep(time.Second) // the campaign at full pace
			if *profileSecs > 0 && s.pprofAddr != "" {
				go func() {
					top, _, err := s.cpuProfile(ctx, *profileSecs, common.profileDir, "campaign")
					if err != nil {
						top = "profile failed: " + err.Error()
					}
					profMu.Lock()
					res.Profiles["campaign_cpu_top"] = top
					profMu.Unlock()
				}()
			}
			return agents.run(*agentRate, *agentDuration, "busy")
		})
		if err != nil {
			return fmt.Errorf("campaign at %d/min: %w", p.PerMinute, err)
		}
		outcomes = append(outcomes, out)
		fmt.Printf("  %d/min, %d recipients: planned %.2f s, actual %.2f s, error %.3f%%, %d provider calls for %d sent (%d duplicates), %s\n",
			p.PerMinute, p.Recipients, out.PlannedS, out.ActualS, out.ErrorPct, out.ProviderCalls, out.Sent, out.Duplicates, out.Status)
		fmt.Printf("    recipients at the end: %v\n", out.Stats)
		if fastest {
			fmt.Printf("  agent reply → provider, during the %d/min campaign: %s\n", p.PerMinute, during)
			res.Figures["agent_to_provider_busy"] = during
			res.Figures["agent_busy_campaign_rate_per_minute"] = p.PerMinute
		}
	}
	res.Figures["campaigns"] = outcomes
	time.Sleep(time.Duration(*profileSecs) * time.Second) // a profile still being taken
	profMu.Lock()
	defer profMu.Unlock()
	if ms, err := scrapeMetrics(ctx, s.base); err == nil {
		res.Figures["server_metrics"] = ms
	}
	return res.write(common.out)
}

// runCampaignPhase seeds the phase's contacts, runs one campaign to them and
// measures it; during runs beside it once it is sending.
func runCampaignPhase(ctx context.Context, s *server, client *http.Client, t tenant, conn connection, i int, p campaignPhase,
	during func() (Summary, error)) (campaignOutcome, Summary, error) {
	out := campaignOutcome{campaignPhase: p, PlannedS: p.plannedSeconds()}
	label := crm.NewID()
	err := s.db.TenantTx(ctx, t.ID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO labels (tenant_id, id, name) VALUES ($1, $2, $3)`, t.ID, label, fmt.Sprintf("fase %d", i)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `WITH c AS (
			INSERT INTO contacts (tenant_id, id, name, phone)
			SELECT $1, gen_random_uuid(), 'Campanha ' || $3::int || '-' || g, '+55' || (41 + $3::int) || '9' || lpad(g::text, 7, '0') || '8'
			FROM generate_series(1, $2) g RETURNING id)
			INSERT INTO contact_labels (tenant_id, contact_id, label_id) SELECT $1, id, $4 FROM c`, t.ID, p.Recipients, i, label)
		return err
	})
	if err != nil {
		return out, Summary{}, fmt.Errorf("seeding recipients: %w", err)
	}
	var created struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	status, err := apiJSON(ctx, client, http.MethodPost, s.base+"/api/v1/campaigns", t.Token, map[string]any{
		"name": fmt.Sprintf("Bench %d/min", p.PerMinute), "connection_id": conn.ID, "rate_per_minute": p.PerMinute,
		"audience": map[string]any{"label_ids": []uuid.UUID{label}},
		"message":  map[string]any{"type": "template", "template": map[string]any{"name": "boas_vindas", "language": map[string]any{"code": "pt_BR"}}},
	}, &created)
	if err != nil || status != http.StatusCreated {
		return out, Summary{}, fmt.Errorf("creating: %d %v", status, err)
	}
	m0, _ := scrapeMetrics(ctx, s.base)
	started := time.Now()
	if status, err := apiJSON(ctx, client, http.MethodPost, s.base+"/api/v1/campaigns/"+created.ID+"/start", t.Token, nil, &created); err != nil || status != http.StatusOK {
		return out, Summary{}, fmt.Errorf("starting: %d %v", status, err)
	}
	var busy Summary
	var busyErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); busy, busyErr = during() }()

	// Done when the campaign completed and every recipient was sent
	// (bounded: twice the plan plus two minutes).
	id := uuid.MustParse(created.ID)
	deadline := time.Now().Add(time.Duration(2*p.plannedSeconds()+120) * time.Second)
	var first, last *time.Time
	for {
		var pending int
		err := s.db.TenantTx(ctx, t.ID, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, `SELECT status FROM campaigns WHERE tenant_id = $1 AND id = $2`, t.ID, id).Scan(&out.Status); err != nil {
				return err
			}
			// A recipient's sent_at is when its message was first known
			// sent: the provider's answer, or its sent webhook if that came
			// first.
			return tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE sent_at IS NOT NULL),
				count(*) FILTER (WHERE sent_at IS NULL AND status <> 'failed' AND status <> 'skipped'), min(sent_at), max(sent_at)
				FROM campaign_recipients WHERE tenant_id = $1 AND campaign_id = $2`, t.ID, id).Scan(&out.Sent, &pending, &first, &last)
		})
		if err != nil {
			return out, Summary{}, err
		}
		if out.Status == "completed" && pending == 0 && out.Sent == p.Recipients {
			break
		}
		if time.Now().After(deadline) {
			break // reported as it stands
		}
		time.Sleep(200 * time.Millisecond)
	}
	wg.Wait()
	if busyErr != nil {
		return out, busy, busyErr
	}
	var final struct {
		Stats map[string]int `json:"stats"`
	}
	if _, err := apiJSON(ctx, client, http.MethodGet, s.base+"/api/v1/campaigns/"+created.ID, t.Token, nil, &final); err == nil {
		out.Stats = final.Stats
	}
	m1, _ := scrapeMetrics(ctx, s.base)
	out.ProviderCalls = sentTotal(m1) - sentTotal(m0) - busy.Count
	out.Duplicates = max(0, out.ProviderCalls-p.Recipients)
	if first != nil && last != nil {
		out.ActualS = last.Sub(*first).Seconds()
		out.StartS = first.Sub(started).Seconds()
	}
	out.ErrorPct = 100 * pacingError(out.ActualS, out.PlannedS)
	return out, busy, nil
}

// agentReplies sends agents' text replies into open conversations and
// measures each from the request to the provider's answer (sent_at).
type agentReplies struct {
	ctx    context.Context
	client *http.Client
	base   string
	token  string
	convs  []string
	runID  string
	s      *server
	tenant uuid.UUID
}

func (a *agentReplies) run(rate float64, d time.Duration, tag string) (Summary, error) {
	interval := time.Duration(float64(time.Second) / rate)
	total := int(rate * d.Seconds())
	posted := make(map[string]time.Time, total)
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(a.ctx)
	g.SetLimit(32)
	start := time.Now()
	for k := 0; k < total; k++ {
		if w := time.Until(start.Add(time.Duration(k) * interval)); w > 0 {
			time.Sleep(w)
		}
		key := fmt.Sprintf("agent-%s-%s-%d", a.runID, tag, k)
		conv := a.convs[k%len(a.convs)]
		g.Go(func() error {
			at := time.Now()
			status, err := apiJSON(gctx, a.client, http.MethodPost, a.base+"/api/v1/conversations/"+conv+"/messages", a.token,
				map[string]any{"type": "text", "text": "Olá! Seu pedido saiu para entrega.", "idempotency_key": key}, nil)
			if err == nil && status == http.StatusAccepted {
				mu.Lock()
				posted[key] = at
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	// The provider's answers, read back by idempotency key (bounded wait).
	lat := &latencies{}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := map[string]time.Time{}
		err := a.s.db.TenantTx(a.ctx, a.tenant, func(tx pgx.Tx) error {
			rows, err := tx.Query(a.ctx, `SELECT idempotency_key, sent_at FROM messages
				WHERE tenant_id = $1 AND idempotency_key LIKE $2 AND sent_at IS NOT NULL`, a.tenant, fmt.Sprintf("agent-%s-%s-%%", a.runID, tag))
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var k string
				var at time.Time
				if err := rows.Scan(&k, &at); err != nil {
					return err
				}
				got[k] = at
			}
			return rows.Err()
		})
		if err != nil {
			return Summary{}, err
		}
		if len(got) >= len(posted) || time.Now().After(deadline) {
			for k, at := range posted {
				if sent, ok := got[k]; ok {
					lat.add(sent.Sub(at))
				}
			}
			return lat.summary(), nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}
