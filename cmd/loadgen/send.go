package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// sendTrack is one agent send: when it was posted, and when the sandbox
// (the provider) and the console saw it.
type sendTrack struct {
	posted   time.Time
	accepted time.Duration // POST → 202
	provider time.Time
	statuses map[string]time.Time
}

func sendCommand(args []string) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	common := registerCommon(fs)
	tenants := fs.Int("tenants", 4, "tenants (one sandbox connection each)")
	convs := fs.Int("conversations", 10, "conversations per tenant")
	rate := fs.Float64("rate", 40, "agent sends per second in total (each connection is paced at 80/s by the engine)")
	duration := fs.Duration("duration", 20*time.Second, "how long agents send")
	delay := fs.Int("status-delay-ms", 1, "the sandbox's delay before each of sent, delivered, read")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := common.context()
	defer cancel()
	res := newResult("send")
	s, err := common.start(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Printf("send: node %s (pid %d)\n", s.base, s.pid)
	fx, err := makeFixture(ctx, s, fixtureOptions{Tenants: *tenants, ConnsEach: 1, Login: true,
		StatusDelayMS: []int{*delay, *delay, *delay}})
	if err != nil {
		return err
	}
	res.Params = map[string]any{"tenants": *tenants, "conversations_per_tenant": *convs, "rate": *rate,
		"duration_s": duration.Seconds(), "sandbox_status_delay_ms": *delay}
	client := newHTTPClient(64)

	// Conversations: one inbound message from each contact.
	gen := &webhookGen{run: randomHex(4), conns: fx.Connections, contacts: *convs, batch: 1}
	convIDs, err := openConversations(ctx, client, s.base, fx, gen, *convs)
	if err != nil {
		return err
	}

	var mu sync.Mutex
	byID := map[string]*sendTrack{}  // message id → track
	byKey := map[string]*sendTrack{} // idempotency key (in the text) → track
	// One console per tenant records message.updated statuses.
	for t := range fx.Tenants {
		u, err := consoleURL(ctx, client, s.base, fx.Tenants[t].Token)
		if err != nil {
			return err
		}
		conn, r, err := dialWS(ctx, u, nil)
		if err != nil {
			return err
		}
		defer conn.Close()
		go readFrames(conn, r, func(p []byte, at time.Time) { //nolint:errcheck
			if !bytes.Contains(p, frameTypeMessageUpdated) {
				return
			}
			var f struct {
				Data struct {
					ID     string `json:"id"`
					Status string `json:"status"`
				} `json:"data"`
			}
			if json.Unmarshal(p, &f) != nil {
				return
			}
			mu.Lock()
			if tr := byID[f.Data.ID]; tr != nil {
				if _, ok := tr.statuses[f.Data.Status]; !ok {
					tr.statuses[f.Data.Status] = at
				}
			}
			mu.Unlock()
		})
	}
	// The sandbox's outbox: when each send reached the provider.
	pollStop := make(chan struct{})
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		for {
			select {
			case <-pollStop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			for _, c := range fx.Connections {
				var out struct {
					Items []struct {
						Request    json.RawMessage `json:"request"`
						ReceivedAt time.Time       `json:"received_at"`
					} `json:"items"`
				}
				if _, err := apiJSON(ctx, client, http.MethodGet, s.base+"/sandbox/api/"+c.ID.String()+"/outbox", fx.Tenants[c.Tenant].Token, nil, &out); err != nil {
					continue
				}
				mu.Lock()
				for _, it := range out.Items {
					var req struct {
						Text struct {
							Body string `json:"body"`
						} `json:"text"`
					}
					if json.Unmarshal(it.Request, &req) != nil {
						continue
					}
					key, _, _ := strings.Cut(strings.TrimPrefix(req.Text.Body, "lg "), " ")
					if tr := byKey[key]; tr != nil && tr.provider.IsZero() {
						tr.provider = it.ReceivedAt
					}
				}
				mu.Unlock()
			}
		}
	}()

	// Agents send at a fixed rate, round robin over the conversations.
	interval := time.Duration(float64(time.Second) / *rate)
	total := int(*rate * duration.Seconds())
	start := time.Now()
	var failures int
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(64)
	for k := 0; k < total; k++ {
		if d := time.Until(start.Add(time.Duration(k) * interval)); d > 0 {
			time.Sleep(d)
		}
		t := k % *tenants
		conv := convIDs[t][(k / *tenants)%len(convIDs[t])]
		key := fmt.Sprintf("lg%s-%d", gen.run, k)
		g.Go(func() error {
			tr := &sendTrack{posted: time.Now(), statuses: map[string]time.Time{}}
			mu.Lock()
			byKey[key] = tr
			mu.Unlock()
			var msg struct {
				ID string `json:"id"`
			}
			status, err := apiJSON(gctx, client, http.MethodPost, s.base+"/api/v1/conversations/"+conv+"/messages", fx.Tenants[t].Token,
				map[string]any{"type": "text", "text": "lg " + key + " Olá, seu pedido saiu para entrega.", "idempotency_key": key}, &msg)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || status != http.StatusAccepted {
				failures++
				return nil
			}
			tr.accepted = time.Since(tr.posted)
			byID[msg.ID] = tr
			return nil
		})
	}
	_ = g.Wait()
	sendSecs := time.Since(start).Seconds()
	// Wait (bounded) for the provider calls and the read statuses.
	waitStart := time.Now()
	for time.Since(waitStart) < 15*time.Second {
		mu.Lock()
		pending := 0
		for _, tr := range byID {
			if tr.provider.IsZero() || tr.statuses["read"].IsZero() {
				pending++
			}
		}
		mu.Unlock()
		if pending == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(pollStop)
	<-pollDone

	accepted, provider := &latencies{}, &latencies{}
	statusLat := map[string]*latencies{"sent": {}, "delivered": {}, "read": {}}
	var noProvider int
	mu.Lock()
	for _, tr := range byID {
		accepted.add(tr.accepted)
		if tr.provider.IsZero() {
			noProvider++
		} else {
			provider.add(tr.provider.Sub(tr.posted))
		}
		for st, l := range statusLat {
			if at, ok := tr.statuses[st]; ok {
				l.add(at.Sub(tr.posted))
			}
		}
	}
	sent := len(byID)
	mu.Unlock()
	res.Figures["sends_accepted"] = sent
	res.Figures["sends_failed"] = failures
	res.Figures["sends_per_sec"] = float64(sent) / sendSecs
	res.Figures["post_to_202"] = accepted.summary()
	res.Figures["send_to_provider"] = provider.summary()
	res.Figures["sends_not_seen_by_provider"] = noProvider
	for st, l := range statusLat {
		res.Figures["send_to_console_"+st] = l.summary()
	}
	fmt.Printf("  %d sends accepted (%.1f/s), %d failed; POST → 202: %s\n", sent, float64(sent)/sendSecs, failures, accepted.summary())
	fmt.Printf("  send → provider call: %s (%d not seen by the provider)\n", provider.summary(), noProvider)
	for _, st := range []string{"sent", "delivered", "read"} {
		fmt.Printf("  send → console shows %s: %s\n", st, statusLat[st].summary())
	}
	if ms, err := scrapeMetrics(ctx, s.base); err == nil {
		res.Figures["server_metrics"] = ms
	}
	return res.write(common.out)
}

// openConversations posts one inbound message from each of convs contacts
// per tenant (gen's) and waits for the conversations they open: their ids
// per tenant.
func openConversations(ctx context.Context, client *http.Client, base string, fx *fixture, gen *webhookGen, convs int) ([][]string, error) {
	for i := 0; i < len(fx.Tenants)*convs; i++ {
		body, conn, _ := gen.next(nil)
		if status, err := postWebhook(ctx, client, base, conn, body); err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("seeding conversations: %d %v", status, err)
		}
	}
	convIDs := make([][]string, len(fx.Tenants))
	deadline := time.Now().Add(30 * time.Second)
	for t := range fx.Tenants {
		for {
			var page struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			}
			_, err := apiJSON(ctx, client, http.MethodGet, base+"/api/v1/conversations?limit=100", fx.Tenants[t].Token, nil, &page)
			if err == nil && len(page.Items) >= convs {
				for _, it := range page.Items {
					convIDs[t] = append(convIDs[t], it.ID)
				}
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("tenant %d has %d of %d conversations after 30 s", t, len(page.Items), convs)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return convIDs, nil
}
