package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"crm/httpapi"
	"crm/persistence"
	"crm/ui"
)

// node is a running crm node; Shutdown stops it in order (HTTP → sockets →
// actors → database) and is safe to call twice.
type node struct {
	log      *slog.Logger
	db       *persistence.DB
	http     *http.Server
	listener net.Listener
	once     sync.Once
	cancel   context.CancelFunc
	bg       sync.WaitGroup
}

// Addr is the address the HTTP server listens on.
func (n *node) Addr() string { return n.listener.Addr().String() }

// Start opens the database, migrates it, and starts serving HTTP.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*node, error) {
	db, err := persistence.Open(ctx, persistence.Config{URL: cfg.DatabaseURL, TenantRole: cfg.DBTenantRole}, log)
	if err != nil {
		return nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating: %w", err)
	}
	if len(applied) > 0 {
		log.Info("applied migrations", "versions", applied)
	}
	api, err := httpapi.New(httpapi.Config{DB: db, Log: log, TokenKey: cfg.subkey("access-tokens"), UI: ui.Handler()})
	if err != nil {
		db.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("listening on %s: %w", cfg.HTTPAddr, err)
	}
	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n := &node{log: log, db: db, listener: ln, cancel: cancel, http: &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
	n.every(bgCtx, 24*time.Hour, "message partitions", db.EnsurePartitions)
	go func() {
		if err := n.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "error", err)
		}
	}()
	return n, nil
}

// every runs fn periodically until ctx ends.
func (n *node) every(ctx context.Context, period time.Duration, name string, fn func(context.Context) error) {
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := fn(ctx); err != nil && ctx.Err() == nil {
					n.log.Warn("periodic task failed", "task", name, "error", err)
				}
			}
		}
	}()
}

// Shutdown stops accepting requests, lets in-flight ones finish, stops the
// background work and closes the database.
func (n *node) Shutdown(ctx context.Context) error {
	var err error
	n.once.Do(func() {
		err = n.http.Shutdown(ctx)
		n.cancel()
		n.bg.Wait()
		n.db.Close()
	})
	return err
}

// Serve runs a node until ctx is cancelled (SIGINT/SIGTERM).
func Serve(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "create the demo tenant and print its logins before serving")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	n, err := Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("crm node serving", "addr", n.Addr(), "version", version)
	if *demo {
		if err := seedDemo(ctx, n.db, cfg, n.Addr(), stdoutWriter()); err != nil {
			n.Shutdown(ctx) //nolint:errcheck
			return fmt.Errorf("creating demo data: %w", err)
		}
	}
	<-ctx.Done()
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return n.Shutdown(shutdownCtx)
}
