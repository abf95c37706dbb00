package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"crm"
	"crm/httpapi"
	"crm/persistence"
)

func stdoutWriter() io.Writer { return os.Stdout }

func openDB(ctx context.Context, cfg Config) (*persistence.DB, error) {
	return persistence.Open(ctx, persistence.Config{URL: cfg.DatabaseURL, TenantRole: cfg.DBTenantRole}, newLogger(cfg.LogLevel))
}

// Migrate applies the migrations and exits.
func Migrate(ctx context.Context, cfg Config) error {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("migrations applied: %v\n", applied)
	return nil
}

// Admin runs `crm admin …` subcommands.
func Admin(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "create-superadmin" {
		return fmt.Errorf("usage: crm admin create-superadmin --email E --password P [--name N]")
	}
	fs := flag.NewFlagSet("create-superadmin", flag.ContinueOnError)
	email := fs.String("email", "", "email of the super admin")
	password := fs.String("password", "", "password (at least 8 characters)")
	name := fs.String("name", "Dono da plataforma", "display name")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	*email = strings.ToLower(strings.TrimSpace(*email))
	if *email == "" || !strings.Contains(*email, "@") {
		return fmt.Errorf("--email is required and must be an email address")
	}
	if msg := crm.ValidatePassword(*password); msg != "" {
		return fmt.Errorf("--password %s", msg)
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	hash, err := crm.HashPassword(*password)
	if err != nil {
		return err
	}
	_, created, err := db.CreateSuperAdmin(ctx, *name, *email, hash)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(out, "super admin %s created\n", *email)
	} else {
		fmt.Fprintf(out, "super admin %s already existed: password updated\n", *email)
	}
	return nil
}

// Demo creates the demo data and prints the logins.
func Demo(ctx context.Context, cfg Config, out io.Writer) error {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	sealer, err := crm.NewSealer(cfg.SecretKey)
	if err != nil {
		return err
	}
	return seedDemo(ctx, &node{db: db, sealer: sealer}, cfg, out)
}

// Demo logins. They are printed by `make run`; change them on any server that
// is reachable by others.
const (
	demoSuperEmail = "owner@demo.crm"
	demoAdminEmail = "admin@demo.crm"
	demoAgentEmail = "agent@demo.crm"
	demoSupEmail   = "supervisor@demo.crm"
	demoPassword   = "demo-pass-123"
)

// seedDemo creates (idempotently) a super admin, a demo plan, the demo tenant
// with an admin and an agent, a sandbox WhatsApp connection and, when this
// node can sign licenses, a license for its own address; then it prints the
// URL and logins.
func seedDemo(ctx context.Context, n *node, cfg Config, out io.Writer) error {
	db := n.db
	public := n.publicURL
	if public == "" { // `crm demo`: no node listening
		public = publicURL(cfg, cfg.HTTPAddr)
	}
	hash, err := crm.HashPassword(demoPassword)
	if err != nil {
		return err
	}
	if _, _, err := db.CreateSuperAdmin(ctx, "Dono da plataforma", demoSuperEmail, hash); err != nil {
		return err
	}
	planID, err := db.PlanByName(ctx, "Demo")
	if err != nil {
		planID, err = db.CreatePlan(ctx, persistence.NewPlan{Name: "Demo", Description: "Tudo liberado, para experimentar o produto",
			MonthlyPrice: "0", Limits: crm.PlanLimits{Users: 50, Connections: 10, Contacts: 100000,
				MonthlyConversations: 100000, MonthlyCampaigns: 100},
			Features: crm.PlanFeatures{Chatbot: true, Campaigns: true, Kanban: true, Agenda: true, Reports: true,
				API: true, Instagram: true, Messenger: true}})
		if err != nil {
			return err
		}
	}
	tenantID, err := db.TenantBySlug(ctx, "demo")
	if err != nil {
		tenantID, _, err = db.CreateTenant(ctx, persistence.NewTenant{Name: "Loja Demo", Slug: "demo", Email: demoAdminEmail,
			PlanID: planID, AdminName: "Admin Demo", AdminEmail: demoAdminEmail, AdminPasswordHash: hash})
		if err != nil {
			return err
		}
	}
	if err := db.EnsureDemoUser(ctx, tenantID, "Agente Demo", demoAgentEmail, crm.RoleAgent, hash); err != nil {
		return err
	}
	if err := db.EnsureDemoUser(ctx, tenantID, "Supervisora Demo", demoSupEmail, crm.RoleSupervisor, hash); err != nil {
		return err
	}
	if err := ensureDemoContent(ctx, db, tenantID); err != nil {
		return fmt.Errorf("creating the demo labels, quick replies and team: %w", err)
	}
	if _, err := httpapi.EnsureDemoSandboxConnection(ctx, db, n.sealer, tenantID, public); err != nil {
		return fmt.Errorf("creating the sandbox connection: %w", err)
	}
	license := "not enforced (no CRM_LICENSE_SIGNING_KEY)"
	if n.signingKey != nil && len(n.serverIPs) > 0 {
		if _, err := db.IssueDemoLicense(ctx, tenantID, n.signingKey, n.serverIPs[0]); err != nil {
			return fmt.Errorf("issuing the demo license: %w", err)
		}
		// The checker looked at start, before this license existed: take it in now.
		if err := n.checker.Refresh(ctx, tenantID); err != nil {
			return err
		}
		if n.engine != nil {
			n.engine.RefreshTenant(ctx, tenantID)
		}
		license = "issued for " + n.serverIPs[0]
	}

	fmt.Fprintf(out, `
  CRM is running at %s

  Logins (password for all: %s)
    platform owner  %s
    tenant admin    %s
    supervisor      %s
    agent           %s

  The demo company has a sandbox WhatsApp connection: open Configurações → Conexões to
  play the customer. Demo license: %s.

`, public, demoPassword, demoSuperEmail, demoAdminEmail, demoSupEmail, demoAgentEmail, license)
	return nil
}

// publicURL is CRM_PUBLIC_URL, else the listen address (an unspecified host
// printed as localhost).
func publicURL(cfg Config, addr string) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// selfURL is where this node's own listener answers, from the node itself:
// an unspecified listen address (":8080") is reached on loopback.
func selfURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Secrets runs `crm secrets rotate`: every connection's credentials and
// webhook subscription's secret sealed under CRM_SECRET_KEY_PREVIOUS are
// re-sealed under CRM_SECRET_KEY.
func Secrets(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	if len(args) != 1 || args[0] != "rotate" {
		return fmt.Errorf("usage: crm secrets rotate  (CRM_SECRET_KEY = new key, CRM_SECRET_KEY_PREVIOUS = old key)")
	}
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var previous [][]byte
	if raw := getenv("CRM_SECRET_KEY_PREVIOUS"); raw != "" {
		old, err := parseSecretKey(raw)
		if err != nil {
			return fmt.Errorf("CRM_SECRET_KEY_PREVIOUS: %w", err)
		}
		previous = append(previous, old)
	}
	sealer, err := crm.NewSealer(cfg.SecretKey, previous...)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := persistence.RotateConnectionSecrets(ctx, db, sealer)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "re-encrypted the credentials of %d connections\n", n)
	if n, err = persistence.RotateWebhookSecrets(ctx, db, sealer); err != nil {
		return err
	}
	fmt.Fprintf(out, "re-encrypted the secrets of %d webhook subscriptions\n", n)
	return nil
}
