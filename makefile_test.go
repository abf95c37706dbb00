package crm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// `make ui` (and so `make run`) builds the console only when one of its
// sources is newer than the last build: an unchanged UI costs nothing. Run
// on a copy of the Makefile with a stand-in console, with make -n.
func TestMakeBuildsTheUIOnlyWhenItChanged(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dir := t.TempDir()
	makefile, err := os.ReadFile("Makefile")
	require.NoError(t, err)
	write := func(name, content string, at time.Time) {
		t.Helper()
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		require.NoError(t, os.Chtimes(path, at, at))
	}
	past := time.Now().Add(-time.Hour)
	write("Makefile", string(makefile), past)
	write("ui/package.json", "{}", past)
	write("ui/package-lock.json", "{}", past)
	write("ui/node_modules/.package-lock.json", "{}", past.Add(time.Minute)) // installed after the lock: no npm ci
	write("ui/src/main.tsx", "export {};", past)
	builds := func() bool {
		t.Helper()
		cmd := exec.Command("make", "-n", "ui")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		return strings.Contains(string(out), "npm run build")
	}
	require.True(t, builds(), "never built")
	write("ui/dist/index.html", "<!doctype html>", past.Add(2*time.Minute))
	require.False(t, builds(), "built since the last change")
	write("ui/src/Inbox.test.tsx", "test", past.Add(3*time.Minute))
	require.False(t, builds(), "a test is not a build input")
	write("ui/src/main.tsx", "export const x = 1;", past.Add(3*time.Minute))
	require.True(t, builds(), "a source changed")
}
