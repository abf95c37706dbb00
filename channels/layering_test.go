package channels_test

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChannelsAndPersistenceAreSiblings: the provider adapters and the
// database layer sit side by side under the actors and the API (DESIGN.md
// §2); neither may reach the other, directly or through another package of
// this module. Whatever needs both (building a connection's adapter from its
// stored row, caching it) is wired above them.
func TestChannelsAndPersistenceAreSiblings(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	packages := []string{"crm/channels", "crm/channels/meta", "crm/channels/uazapi", "crm/channels/evolution",
		"crm/channels/sandbox", "crm/channels/providers"}
	for _, pkg := range packages {
		require.NotContains(t, moduleDeps(t, root, pkg), "crm/persistence", "%s must not depend on persistence", pkg)
	}
	for dep := range moduleDeps(t, root, "crm/persistence") {
		require.False(t, dep == "crm/channels" || strings.HasPrefix(dep, "crm/channels/"),
			"persistence must not depend on %s", dep)
	}
}

// moduleDeps lists the packages of module crm that pkg imports, transitively
// (test files left out).
func moduleDeps(t *testing.T, root, pkg string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	var walk func(string)
	walk = func(path string) {
		dir := filepath.Join(root, strings.TrimPrefix(strings.TrimPrefix(path, "crm"), "/"))
		p, err := build.ImportDir(dir, 0)
		require.NoError(t, err, path)
		for _, imp := range p.Imports {
			if (imp == "crm" || strings.HasPrefix(imp, "crm/")) && !seen[imp] {
				seen[imp] = true
				walk(imp)
			}
		}
	}
	walk(pkg)
	return seen
}
