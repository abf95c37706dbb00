package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"crm"
	"crm/persistence"
)

// benchSecretKey is the CRM_SECRET_KEY of nodes the load generator starts
// (a throwaway database, so a fixed key is fine).
const benchSecretKey = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="

// pprofOverlay is added to package main of cmd/crm at build time (go build
// -overlay), so the binary under test serves net/http/pprof on
// CRM_PPROF_ADDR without the server's sources carrying a profiling switch.
const pprofOverlay = `package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("CRM_PPROF_ADDR"); addr != "" {
		go http.ListenAndServe(addr, nil) //nolint:errcheck
	}
}
`

// server is the node under test: a crm process this run started, or a
// running one named by -target.
type server struct {
	base      string // http://host:port
	pid       int    // 0 when not ours (no RSS figures)
	pprofAddr string // "" when not profiled
	bin       string
	dbURL     string
	db        *persistence.DB
	sealer    *crm.Sealer
	cmd       *exec.Cmd
	exited    chan struct{} // closed when cmd has exited (one goroutine waits for it)
	dropDB    func()
	tmp       string
}

type serverOptions struct {
	target     string // empty: start our own
	dbURL      string // with target: the node's database
	adminURL   string // PostgreSQL server to create a scratch database on
	secretKey  string
	binary     string // prebuilt crm binary; empty: build one
	keepDB     bool
	extraEnv   []string
	logLevel   string
	serverLogs string // file for the node's stderr
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the load generator inside the crm module")
	}
	return filepath.Dir(mod), nil
}

// buildCRM builds cmd/crm with the pprof overlay into dir.
func buildCRM(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	overlaySrc := filepath.Join(dir, "zz_loadgen_pprof.go")
	if err := os.WriteFile(overlaySrc, []byte(pprofOverlay), 0o644); err != nil {
		return "", err
	}
	overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{
		filepath.Join(root, "cmd", "crm", "zz_loadgen_pprof.go"): overlaySrc}})
	if err != nil {
		return "", err
	}
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "crm")
	build := exec.CommandContext(ctx, "go", "build", "-overlay", overlayFile, "-o", bin, "./cmd/crm")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building crm: %w", err)
	}
	return bin, nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// createDatabase makes a scratch database on the admin server.
func createDatabase(ctx context.Context, adminURL string) (string, func(), error) {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("connecting to PostgreSQL at %s: %w", adminURL, err)
	}
	defer admin.Close(ctx)
	name := "crm_bench_" + randomHex(6)
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, err
	}
	u, _ := url.Parse(adminURL)
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
	}
	return u.String(), drop, nil
}

func startServer(ctx context.Context, o serverOptions) (*server, error) {
	s := &server{}
	var err error
	if s.tmp, err = os.MkdirTemp("", "loadgen-"); err != nil {
		return nil, err
	}
	key := o.secretKey
	if key == "" {
		key = benchSecretKey
	}
	keyBytes, err := parseKey(key)
	if err != nil {
		return nil, err
	}
	if s.sealer, err = crm.NewSealer(keyBytes); err != nil {
		return nil, err
	}
	if o.target != "" {
		s.base = strings.TrimRight(o.target, "/")
		s.dbURL = o.dbURL
		if s.dbURL == "" {
			return nil, errors.New("-target needs -database-url (the node's database, for fixtures and checks)")
		}
	} else {
		if s.dbURL, s.dropDB, err = createDatabase(ctx, o.adminURL); err != nil {
			return nil, err
		}
		if o.keepDB {
			fmt.Fprintf(os.Stderr, "keeping database %s\n", s.dbURL)
			s.dropDB = nil
		}
	}
	if s.db, err = persistence.Open(ctx, persistence.Config{URL: s.dbURL, MaxConns: 8}, slog.New(slog.DiscardHandler)); err != nil {
		s.close()
		return nil, err
	}
	if o.target != "" {
		return s, nil
	}
	if _, err := s.db.Migrate(ctx); err != nil {
		s.close()
		return nil, fmt.Errorf("migrating: %w", err)
	}
	s.bin = o.binary
	if s.bin == "" {
		if s.bin, err = buildCRM(ctx, s.tmp); err != nil {
			s.close()
			return nil, err
		}
	}
	level := o.logLevel
	if level == "" {
		level = "warn"
	}
	logPath := o.serverLogs
	if logPath == "" {
		logPath = filepath.Join(s.tmp, "server.log")
	}
	// The ports come from freePort, which closes its listener before the
	// node binds: another process (this load generator's own client
	// sockets take ephemeral ports) may take one in between. A node that
	// exits before it is ready is started again on fresh ports.
	for attempt := 1; ; attempt++ {
		err := s.startNode(o, key, level, logPath)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errNodeExited) || attempt == 3 {
			s.close()
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "loadgen: %v; starting it again on other ports\n", err)
	}
}

var errNodeExited = errors.New("node exited before it was ready")

// startNode starts the node on fresh ports and waits until it is ready.
func (s *server) startNode(o serverOptions, key, level, logPath string) error {
	httpAddr, _ := freePort()
	gossip, _ := freePort()
	s.pprofAddr, _ = freePort()
	s.base = "http://" + httpAddr
	s.cmd = exec.Command(s.bin, "serve")
	s.cmd.Env = append(append(os.Environ(), "DATABASE_URL="+s.dbURL, "CRM_SECRET_KEY="+key, "CRM_HTTP_ADDR="+httpAddr,
		"CRM_PUBLIC_URL="+s.base, "CRM_CLUSTER_BIND="+gossip, "CRM_CLUSTER_SEEDS=", "CRM_MEDIA_DIR="+filepath.Join(s.tmp, "media"),
		"CRM_LICENSE_SIGNING_KEY=", "CRM_LICENSE_PUBLIC_KEY=", "CRM_LOG_LEVEL="+level, "CRM_PPROF_ADDR="+s.pprofAddr), o.extraEnv...)
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	s.pid = s.cmd.Process.Pid
	exited := make(chan struct{})
	s.exited = exited
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); logFile.Close(); close(exited) }(s.cmd)
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(s.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("%w (log: %s): %s", errNodeExited, logPath, lastLine(logPath))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node at %s not ready after 60 s (log: %s)", s.base, logPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lastLine is the last non-empty line of a file (a node's last words).
func lastLine(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

func parseKey(s string) ([]byte, error) {
	for _, dec := range []func(string) ([]byte, error){hex.DecodeString, b64std} {
		if b, err := dec(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("secret key must be 32 bytes, base64 or hex")
}

// close stops our node (SIGTERM, then SIGKILL) and drops the scratch database.
func (s *server) close() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(25 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		s.cmd = nil
	}
	if s.db != nil {
		s.db.Close()
		s.db = nil
	}
	if s.dropDB != nil {
		s.dropDB()
		s.dropDB = nil
	}
	if s.tmp != "" {
		_ = os.RemoveAll(s.tmp)
	}
}

// rssKB reads VmRSS of a process in KB.
func rssKB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				return strconv.ParseInt(fields[0], 10, 64)
			}
		}
	}
	return 0, errors.New("no VmRSS")
}

// cpuProfile fetches a CPU profile of the node over seconds and summarises it
// with go tool pprof -top. It returns the summary and the profile's path.
func (s *server) cpuProfile(ctx context.Context, seconds int, outDir, name string) (string, string, error) {
	if s.pprofAddr == "" {
		return "", "", errors.New("node not started by this run: no profile")
	}
	client := &http.Client{Timeout: time.Duration(seconds+30) * time.Second}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.pprofAddr, seconds), nil)
	res, err := client.Do(req)
	if err != nil {
		return "", "", err
	}
	defer res.Body.Close()
	if outDir == "" {
		outDir = s.tmp
	}
	_ = os.MkdirAll(outDir, 0o755)
	path := filepath.Join(outDir, name+".cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		return "", "", err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return "", "", err
	}
	f.Close()
	return pprofTop(s.bin, path), path, nil
}

// pprofTop runs go tool pprof -top (flat and cumulative) on a profile.
func pprofTop(bin, path string) string {
	var b strings.Builder
	for _, args := range [][]string{
		{"tool", "pprof", "-top", "-nodecount=22", bin, path},
		{"tool", "pprof", "-top", "-cum", "-nodecount=30", bin, path},
	} {
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			fmt.Fprintf(&b, "go %s: %v\n", strings.Join(args, " "), err)
		}
		b.Write(out)
		b.WriteString("\n")
	}
	// Every crm function and the runtime's big items, cumulative: what the
	// report's breakdown reads.
	out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=1000", bin, path).CombinedOutput()
	if err == nil {
		b.WriteString("crm functions and GC, cumulative:\n")
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, " crm/") || strings.Contains(line, "runtime.gcBgMarkWorker") || strings.Contains(line, "net/http.(*conn).serve") ||
				strings.Contains(line, "flushWithPotentialWriteReadDeadlock") || strings.HasSuffix(line, " syscall.Syscall") {
				b.WriteString(line + "\n")
			}
		}
	}
	return b.String()
}
