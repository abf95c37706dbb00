// Package ui embeds the built console (ui/dist, made by `make ui` with Vite)
// and serves it: hashed assets cached for a year, index.html never cached,
// and client-side routes falling back to index.html.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// Handler serves the console. When the UI was not built it serves a short
// page saying how to build it.
func Handler() http.Handler {
	root, _ := fs.Sub(dist, "dist")
	files := http.FileServer(http.FS(root))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if f, err := root.Open(name); err == nil {
				f.Close()
				if strings.HasPrefix(name, "assets/") {
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				} else {
					w.Header().Set("Cache-Control", "no-cache")
				}
				files.ServeHTTP(w, r)
				return
			}
		}
		index, err := fs.ReadFile(root, "index.html")
		if err != nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Write([]byte(notBuilt)) //nolint:errcheck
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(index) //nolint:errcheck
	})
}

const notBuilt = `<!doctype html><html lang="pt-BR"><meta charset="utf-8"><title>CRM</title>
<body style="font-family:system-ui;margin:3rem"><h1>CRM</h1>
<p>O console ainda não foi compilado. Rode <code>make run</code> (ou <code>make ui</code>) para compilá-lo.</p>
<p>The console has not been built yet: run <code>make run</code> or <code>make ui</code>.
The API is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></body></html>`
