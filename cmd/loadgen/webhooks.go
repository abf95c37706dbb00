package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// webhookGen makes signed WhatsApp webhooks in Meta's wire format, each
// message with a unique id wamid.lg.<run>.<n>, spread over connections and
// contacts.
type webhookGen struct {
	run      string
	conns    []connection
	contacts int // per connection
	batch    int
	seq      atomic.Int64
	// only, when set, limits the connections used (e2e: tenants with consoles).
}

func (g *webhookGen) idPrefix() string { return "wamid.lg." + g.run + "." }

// next builds one webhook: its body, connection and the number of its first message.
func (g *webhookGen) next(buf []byte) ([]byte, *connection, int64) {
	first := g.seq.Add(int64(g.batch)) - int64(g.batch)
	conn := &g.conns[int(first/int64(g.batch))%len(g.conns)]
	now := strconv.FormatInt(time.Now().Unix(), 10)
	b := append(buf[:0], `{"object":"whatsapp_business_account","entry":[{"id":"WABA`...)
	b = append(b, `","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"5511900000000","phone_number_id":"`...)
	b = append(b, conn.PhoneID...)
	b = append(b, `"},"contacts":[`...)
	for i := 0; i < g.batch; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"profile":{"name":"Cliente `...)
		b = g.appendContact(b, first+int64(i))
		b = append(b, `"},"wa_id":"`...)
		b = g.appendWaID(b, first+int64(i))
		b = append(b, `"}`...)
	}
	b = append(b, `],"messages":[`...)
	for i := 0; i < g.batch; i++ {
		n := first + int64(i)
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"from":"`...)
		b = g.appendWaID(b, n)
		b = append(b, `","id":"`...)
		b = append(b, g.idPrefix()...)
		b = strconv.AppendInt(b, n, 10)
		b = append(b, `","timestamp":"`...)
		b = append(b, now...)
		b = append(b, `","type":"text","text":{"body":"Olá! Gostaria de saber o preço e o prazo de entrega do pedido `...)
		b = strconv.AppendInt(b, n, 10)
		b = append(b, `"}}`...)
	}
	b = append(b, `]}}]}]}`...)
	return b, conn, first
}

// contactOf spreads a connection's messages over all its contacts.
func (g *webhookGen) contactOf(n int64) int64 {
	batch, conns := int64(g.batch), int64(len(g.conns))
	local := (n/batch)/conns*batch + n%batch // this message's index among its connection's
	return (local * 7919) % int64(g.contacts)
}

func (g *webhookGen) appendContact(b []byte, n int64) []byte {
	return strconv.AppendInt(b, g.contactOf(n), 10)
}

// appendWaID writes a Brazilian mobile number unique per contact index.
func (g *webhookGen) appendWaID(b []byte, n int64) []byte {
	b = append(b, "55219"...)
	s := strconv.AppendInt(nil, 10_000_000+g.contactOf(n), 10) // 8 digits
	return append(b, s...)
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func newHTTPClient(conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		MaxConnsPerHost:     0,
		DisableCompression:  true,
		IdleConnTimeout:     60 * time.Second,
	}}
}

func postWebhook(ctx context.Context, client *http.Client, base string, conn *connection, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/sandbox/"+conn.ID.String(), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", sign(conn.Secret, body))
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// driveOptions: Rate is messages per second (0: as fast as acknowledged
// with Concurrency requests in flight).
type driveOptions struct {
	Base        string
	Gen         *webhookGen
	Rate        float64
	Duration    time.Duration
	Concurrency int
	Client      *http.Client
	// OnSend is told each request's first message number and its send time.
	OnSend func(first int64, at time.Time)
}

type driveResult struct {
	Requests    int64   `json:"requests"`
	Acked       int64   `json:"acked_messages"`
	Errors      int64   `json:"errors"`
	Non200      int64   `json:"non_200"`
	Seconds     float64 `json:"seconds"`
	MessagesSec float64 `json:"messages_per_sec"`
	Ack         Summary `json:"ack_latency"`
	Late        int64   `json:"late_starts"`
	NotSent     int64   `json:"not_sent_fell_behind"`
	// ackedRanges are [first, first+batch) of every acknowledged request.
	ackedRanges []int64
	batch       int64
}

// drive posts webhooks for the duration. At a fixed rate, request k is due
// at start + k/requestRate and its latency is measured from when it was due
// (so a stalled server is charged for the requests it delayed).
func drive(ctx context.Context, o driveOptions) *driveResult {
	res := &driveResult{batch: int64(o.Gen.batch)}
	lat := &latencies{}
	var mu sync.Mutex
	var slot atomic.Int64
	start := time.Now()
	end := start.Add(o.Duration)
	var interval time.Duration
	if o.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(o.Gen.batch) / o.Rate)
	}
	grace := min(o.Duration/2, 5*time.Second)
	var wg sync.WaitGroup
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 512*o.Gen.batch+512)
			var mine []int64
			defer func() {
				mu.Lock()
				res.ackedRanges = append(res.ackedRanges, mine...)
				mu.Unlock()
			}()
			for ctx.Err() == nil {
				due := time.Now()
				if interval > 0 {
					k := slot.Add(1) - 1
					due = start.Add(time.Duration(k) * interval)
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					} else if d < -5*time.Millisecond {
						atomic.AddInt64(&res.Late, 1)
					}
				}
				if due.After(end) {
					return
				}
				if interval > 0 && time.Since(end) > grace {
					// Fallen too far behind: what was due is counted, not sent.
					atomic.AddInt64(&res.NotSent, 1)
					continue
				}
				body, conn, first := o.Gen.next(buf)
				buf = body
				sent := time.Now()
				if o.OnSend != nil {
					o.OnSend(first, sent)
				}
				status, err := postWebhook(ctx, o.Client, o.Base, conn, body)
				atomic.AddInt64(&res.Requests, 1)
				switch {
				case err != nil:
					if !errors.Is(err, context.Canceled) {
						atomic.AddInt64(&res.Errors, 1)
					}
				case status != http.StatusOK:
					atomic.AddInt64(&res.Non200, 1)
				default:
					atomic.AddInt64(&res.Acked, int64(o.Gen.batch))
					mine = append(mine, first)
					lat.add(time.Since(due))
				}
			}
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.MessagesSec = float64(res.Acked) / res.Seconds
	res.Ack = lat.summary()
	return res
}

func (r *driveResult) String() string {
	return fmt.Sprintf("%.0f msg/s acked (%d msgs, %d requests, %d errors, %d non-200, %d late, %d not sent) ack %s",
		r.MessagesSec, r.Acked, r.Requests, r.Errors, r.Non200, r.Late, r.NotSent, r.Ack)
}
