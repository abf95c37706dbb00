// Command loadgen measures a crm node against this machine's limits,
// measured in the same run:
//
//	loadgen ingest   [-processed] signed webhooks; ack rate and latency vs raw batched INSERT/COPY and a bare net/http+HMAC handler
//	loadgen e2e      consoles on WebSocket while webhooks arrive at a fixed rate; webhook → console latency, missed events
//	loadgen sockets  idle authenticated sessions; server RSS per socket vs a bare gobwas/ws server; one event to all
//	loadgen send     agents send through the REST API to the sandbox; send → provider call, status round trip
//	loadgen bot      one-question chatbot flow: processing with vs without flows, webhook → bot reply at the provider
//	loadgen campaign          campaigns' pacing error, duplicates, agent replies beside one
//	loadgen report   turn the JSON results into BENCHMARKS.md
//
// Unless -target names a running node, each scenario builds cmd/crm, starts
// it as its own process on a scratch database and stops it at the end. All
// traffic goes to 127.0.0.0/8 and every phase is bounded in time.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		fmt.Println(usage)
		return nil
	}
	switch args[0] {
	case "ingest":
		return ingestCommand(args[1:])
	case "e2e":
		return e2eCommand(args[1:])
	case "sockets":
		return socketsCommand(args[1:])
	case "send":
		return sendCommand(args[1:])
	case "bot":
		return botCommand(args[1:])
	case "campaign", "campaign-pacing":
		return campaignCommand(args[1:])
	case "report":
		return reportCommand(args[1:])
	case "build-crm":
		if len(args) != 2 {
			return fmt.Errorf("usage: loadgen build-crm DIR")
		}
		bin, err := buildCRM(context.Background(), args[1])
		if err == nil {
			fmt.Println(bin)
		}
		return err
	case "bare-http":
		return runBareHTTP(args[1:])
	case "bare-ws":
		return runBareWS(args[1:])
	case "help", "-h", "--help":
		fmt.Println(usage)
		return nil
	}
	return fmt.Errorf("unknown scenario %q\n%s", args[0], usage)
}

const usage = `usage: loadgen <scenario> [flags]   (loadgen <scenario> -h lists its flags)
  ingest           signed webhooks as fast as acknowledged and at a fixed rate; -processed: sustained processing
  e2e              consoles on WebSocket while webhooks arrive at a fixed rate
  sockets          idle authenticated WebSocket sessions: RSS per session, one event to all
  send             agent sends to the sandbox provider
  bot              chatbot: processing with a one-question flow vs without, bot reply latency
  campaign         campaigns at 20/min, 600/min and 60,000/min: pacing error, duplicates, agent replies during one
  report           write BENCHMARKS.md from result files`

// commonFlags are shared by every scenario.
type commonFlags struct {
	target     string
	dbURL      string
	adminURL   string
	secretKey  string
	out        string
	profileDir string
	crmBin     string
	keepDB     bool
	timeout    time.Duration
	serverLog  string
}

func registerCommon(fs *flag.FlagSet) *commonFlags {
	c := &commonFlags{}
	fs.StringVar(&c.target, "target", "", "base URL of a running node (default: start one)")
	fs.StringVar(&c.dbURL, "database-url", os.Getenv("DATABASE_URL"), "with -target: the node's database (fixtures, checks)")
	fs.StringVar(&c.adminURL, "admin-url", orDefault(os.Getenv("TEST_DATABASE_URL"), "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server on which a scratch database is created")
	fs.StringVar(&c.secretKey, "secret-key", os.Getenv("CRM_SECRET_KEY"), "with -target: the node's CRM_SECRET_KEY (to read sandbox app secrets)")
	fs.StringVar(&c.out, "out", "", "write the results as JSON to this file")
	fs.StringVar(&c.profileDir, "profile-dir", "", "keep CPU profiles here")
	fs.StringVar(&c.crmBin, "crm-bin", "", "use this crm binary (built with the pprof overlay) instead of building one")
	fs.BoolVar(&c.keepDB, "keep-db", false, "keep the scratch database")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "hard limit on the whole scenario")
	fs.StringVar(&c.serverLog, "server-log", "", "file for the node's log")
	return c
}

func (c *commonFlags) context() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	return ctx, func() { cancel(); stop() }
}

func (c *commonFlags) start(ctx context.Context) (*server, error) {
	key := c.secretKey
	if c.target == "" {
		key = ""
	}
	return startServer(ctx, serverOptions{target: c.target, dbURL: c.dbURL, adminURL: c.adminURL, secretKey: key,
		binary: c.crmBin, keepDB: c.keepDB, serverLogs: c.serverLog})
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
