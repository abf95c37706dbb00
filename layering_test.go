package crm_test

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The import graph runs one way (ARCHITECTURE.md, DESIGN.md §2):
//
//	cmd → httpapi → (actors, realtime, jobs) → (channels, persistence, cluster, rediskv) → (crm, proto)
//
// Each package of the module sits on a layer and may import only packages
// on lower layers, or packages of its own tree (channels/meta →
// channels). Siblings on one layer do not import each other: what needs two
// of them is wired above both, through an interface the consumer declares.
var layers = []struct {
	name     string
	packages []string // a path ending in /... names the tree below it too
}{
	{"domain", []string{"crm", "crm/proto"}},
	{"mechanisms", []string{"crm/groupcommit", "crm/migrations", "crm/ui"}},
	{"adapters", []string{"crm/channels/...", "crm/persistence/...", "crm/cluster", "crm/rediskv/...", "crm/mail/..."}},
	{"engine", []string{"crm/actors/...", "crm/realtime", "crm/jobs"}},
	{"edge", []string{"crm/httpapi"}},
	{"programs", []string{"crm/cmd/..."}},
}

// Third-party packages that belong to one adapter alone.
var confined = map[string][]string{
	"github.com/jackc/pgx/v5": {"crm/persistence/...", "crm/migrations", "crm/jobs", "crm/cmd/loadgen"},
	"github.com/gobwas/ws":    {"crm/realtime", "crm/httpapi", "crm/cmd/loadgen"},
	// Redis holds the shared throttle counters (REDIS_URL); httpapi takes
	// them through its WindowLimiter and LoginLimiter interfaces.
	"github.com/redis/go-redis/v9": {"crm/rediskv/..."},
	"github.com/wneessen/go-mail":  {"crm/mail"},
	"github.com/emersion/go-smtp":  {"crm/mail/mailtest"},
}

func TestImportsRunOneWay(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(".")
	require.NoError(t, err)
	all := modulePackages(t, root)
	for _, pkg := range all {
		layer, group := layerOf(pkg)
		require.GreaterOrEqual(t, layer, 0, "%s is on no layer: add it to layers in layering_test.go", pkg)
		p, err := build.ImportDir(filepath.Join(root, strings.TrimPrefix(strings.TrimPrefix(pkg, "crm"), "/")), 0)
		require.NoError(t, err, pkg)
		for _, imp := range p.Imports {
			for thirdParty, allowed := range confined {
				if imp == thirdParty || strings.HasPrefix(imp, thirdParty+"/") {
					require.True(t, slices.ContainsFunc(allowed, func(a string) bool { return matches(a, pkg) }),
						"%s imports %s, which belongs to %v only", pkg, imp, allowed)
				}
			}
			if imp != "crm" && !strings.HasPrefix(imp, "crm/") {
				continue
			}
			impLayer, impGroup := layerOf(imp)
			if impGroup == group && group != "" {
				continue // within its own tree
			}
			require.Less(t, impLayer, layer, "%s (layer %s) must not import %s (layer %s)",
				pkg, layers[layer].name, imp, layers[max(impLayer, 0)].name)
		}
	}
}

// layerOf returns the layer of pkg and the tree entry it matched.
func layerOf(pkg string) (int, string) {
	for i, l := range layers {
		for _, entry := range l.packages {
			if matches(entry, pkg) {
				if strings.HasSuffix(entry, "/...") {
					return i, entry
				}
				return i, ""
			}
		}
	}
	return -1, ""
}

func matches(entry, pkg string) bool {
	if tree, ok := strings.CutSuffix(entry, "/..."); ok {
		return pkg == tree || strings.HasPrefix(pkg, tree+"/")
	}
	return pkg == entry
}

// modulePackages lists the module's packages that have Go files (test-only
// helpers such as persistence/pgtest included).
func modulePackages(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" || name == "var" || name == "dist") {
			return filepath.SkipDir
		}
		if _, err := build.ImportDir(path, 0); err != nil {
			return nil // no buildable Go files here
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "." {
			out = append(out, "crm")
		} else {
			out = append(out, "crm/"+filepath.ToSlash(rel))
		}
		return nil
	})
	require.NoError(t, err)
	sort.Strings(out)
	require.Contains(t, out, "crm/actors")
	return out
}
