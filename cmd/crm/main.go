package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "crm:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	switch args[0] {
	case "serve":
		cfg, err := LoadConfig(os.Getenv)
		if err != nil {
			return err
		}
		return Serve(ctx, cfg, args[1:])
	case "migrate":
		cfg, err := LoadConfig(os.Getenv)
		if err != nil {
			return err
		}
		return Migrate(ctx, cfg)
	case "admin":
		cfg, err := LoadConfig(os.Getenv)
		if err != nil {
			return err
		}
		return Admin(ctx, cfg, args[1:], os.Stdout)
	case "demo":
		cfg, err := LoadConfig(os.Getenv)
		if err != nil {
			return err
		}
		return Demo(ctx, cfg, os.Stdout)
	case "secrets":
		cfg, err := LoadConfig(os.Getenv)
		if err != nil {
			return err
		}
		return Secrets(ctx, cfg, args[1:], os.Stdout)
	case "license":
		return runLicense(ctx, args[1:], os.Stdout)
	case "version", "--version", "-v":
		fmt.Println("crm", version)
		return nil
	case "help", "--help", "-h":
		fmt.Println(usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

const usage = `usage: crm <command>
  serve [--demo] [--create-database]
                             run a node (default); --demo seeds the demo company and prints
                             its logins, --create-database makes DATABASE_URL's database
                             when its server lacks it
  migrate                    apply database migrations
  admin create-superadmin --email E --password P [--name N]
  demo                       create the demo tenant and print its logins
  secrets rotate             re-encrypt connection credentials and webhook secrets under CRM_SECRET_KEY
                             (CRM_SECRET_KEY_PREVIOUS holds the old key)
  license keygen             make an Ed25519 key pair for signing licenses
  license verify <key>       show what a license holds and whether it is valid here
  version                    print the version`
