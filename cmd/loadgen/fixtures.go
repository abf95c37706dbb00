package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"crm"
	"crm/channels/providers"
	"crm/httpapi"
	"crm/persistence"
)

const benchPassword = "bench-pass-123"

// connection is a sandbox WhatsApp connection webhooks are signed for.
type connection struct {
	ID       uuid.UUID
	TenantID uuid.UUID
	Secret   string
	PhoneID  string
	Tenant   int // index into fixture.Tenants
}

type tenant struct {
	ID    uuid.UUID
	Email string
	Token string // admin access token
}

type fixture struct {
	Tenants     []tenant
	Connections []connection
}

type fixtureOptions struct {
	Tenants       int
	ConnsEach     int
	StatusDelayMS []int // sandbox status delays (sent, delivered, read); nil: sandbox default
	Login         bool
}

// makeFixture creates tenants on a plan without practical limits, each with
// its admin and sandbox connections, straight in the database (the API would
// hash every password and audit every row; that is not what is measured).
func makeFixture(ctx context.Context, s *server, o fixtureOptions) (*fixture, error) {
	db := s.db
	run := randomHex(4)
	planID, err := db.CreatePlan(ctx, persistence.NewPlan{Name: "Bench " + run, MonthlyPrice: "0",
		Limits: crm.PlanLimits{Users: 100000, Connections: 1000, Contacts: 10_000_000,
			MonthlyConversations: 10_000_000, MonthlyCampaigns: 1000},
		Features: crm.PlanFeatures{Chatbot: true, Campaigns: true, Kanban: true, Agenda: true, Reports: true,
			API: true, Instagram: true, Messenger: true}})
	if err != nil {
		return nil, fmt.Errorf("creating the bench plan: %w", err)
	}
	hash, err := crm.HashPassword(benchPassword)
	if err != nil {
		return nil, err
	}
	f := &fixture{Tenants: make([]tenant, o.Tenants), Connections: make([]connection, o.Tenants*o.ConnsEach)}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i := 0; i < o.Tenants; i++ {
		g.Go(func() error {
			email := fmt.Sprintf("admin@t%d-%s.bench", i, run)
			id, _, err := db.CreateTenant(gctx, persistence.NewTenant{Name: fmt.Sprintf("Bench %d", i), Slug: fmt.Sprintf("bench-%s-%d", run, i),
				Email: email, PlanID: planID, AdminName: "Bench admin", AdminEmail: email, AdminPasswordHash: hash})
			if err != nil {
				return fmt.Errorf("creating tenant %d: %w", i, err)
			}
			f.Tenants[i] = tenant{ID: id, Email: email}
			for c := 0; c < o.ConnsEach; c++ {
				settings := map[string]any{}
				if o.StatusDelayMS != nil {
					delays := make([]any, len(o.StatusDelayMS))
					for k, d := range o.StatusDelayMS {
						delays[k] = float64(d)
					}
					settings["sandbox_status_delays_ms"] = delays
				}
				created, err := httpapi.CreateConnection(gctx, db, s.sealer, id, persistence.AuditEntry{}, httpapi.NewConnection{
					Name: fmt.Sprintf("Sandbox %d", c), Channel: "whatsapp", Provider: providers.Sandbox,
					SandboxBaseURL: s.base, Settings: settings})
				if err != nil {
					return fmt.Errorf("creating connection %d of tenant %d: %w", c, i, err)
				}
				sec, err := persistence.LoadConnection(gctx, db, s.sealer, id, created.ID)
				if err != nil {
					return err
				}
				f.Connections[i*o.ConnsEach+c] = connection{ID: created.ID, TenantID: id, Secret: sec.Credentials["app_secret"],
					PhoneID: sec.ExternalID, Tenant: i}
			}
			if o.Login {
				token, err := login(gctx, s.base, email)
				if err != nil {
					return err
				}
				f.Tenants[i].Token = token
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return f, nil
}

func login(ctx context.Context, base, email string) (string, error) {
	body, err := json.Marshal(map[string]string{"email": email, "password": benchPassword})
	if err != nil {
		return "", err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login %s: status %d %v", email, res.StatusCode, err)
	}
	return out.AccessToken, nil
}

var b64std = base64.StdEncoding.DecodeString

// apiJSON calls the REST API with a token and decodes the answer into out.
func apiJSON(ctx context.Context, client *http.Client, method, url, token string, body, out any) (int, error) {
	var r *bytes.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encoding the request to %s: %w", url, err)
		}
		r = bytes.NewReader(raw)
	} else {
		r = bytes.NewReader(nil)
	}
	req, _ := http.NewRequestWithContext(ctx, method, url, r)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return res.StatusCode, err
		}
	}
	return res.StatusCode, nil
}
