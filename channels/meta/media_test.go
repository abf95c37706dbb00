package meta

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"crm/channels"
	crmpb "crm/proto"
)

// mediaServer serves GET /v21.0/{id} → {url, sha256...} and GET /download.
func mediaServer(t *testing.T, content []byte, reportedSHA string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write(graphError(190, 0))
			return
		}
		switch r.URL.Path {
		case "/v21.0/1122334455667788":
			// The fixture's shape, with the URL pointed at this server.
			var info map[string]any
			_ = json.Unmarshal(fixture(t, "whatsapp", "send", "media_get_url_response.json"), &info)
			info["url"] = srv.URL + "/download?mid=1122334455667788"
			info["sha256"] = reportedSHA
			_ = json.NewEncoder(w).Encode(info)
		case "/download":
			w.Header().Set("Content-Type", "image/jpeg")
			_, _ = w.Write(content)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write(graphError(100, 33))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchMediaVerifiesSHA256(t *testing.T) {
	t.Parallel()
	content := []byte("\xff\xd8\xff\xe0 a jpeg, trust me")
	sum := sha256.Sum256(content)
	b64 := base64.StdEncoding.EncodeToString(sum[:])

	for name, reported := range map[string]string{"base64": b64, "hex": hex.EncodeToString(sum[:])} {
		srv := mediaServer(t, content, reported)
		p := newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP, channels.Credentials{AccessToken: "tok"}, srv.URL)
		got, err := p.FetchMedia(context.Background(), channels.MediaRef{ID: "1122334455667788"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		eq(t, name+" bytes", string(got.Data), string(content))
		eq(t, name+" mime", got.MimeType, "image/jpeg")
		eq(t, name+" sha", got.SHA256, hex.EncodeToString(sum[:]))
	}

	// Meta reports another checksum: rejected.
	other := sha256.Sum256([]byte("something else"))
	srv := mediaServer(t, content, base64.StdEncoding.EncodeToString(other[:]))
	p := newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP, channels.Credentials{AccessToken: "tok"}, srv.URL)
	if _, err := p.FetchMedia(context.Background(), channels.MediaRef{ID: "1122334455667788"}); !errors.Is(err, channels.ErrMediaChecksum) {
		t.Errorf("mismatch: want ErrMediaChecksum, got %v", err)
	}

	// No checksum from the lookup: the webhook's is used, and enforced.
	srv = mediaServer(t, content, "")
	p = newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP, channels.Credentials{AccessToken: "tok"}, srv.URL)
	if _, err := p.FetchMedia(context.Background(), channels.MediaRef{ID: "1122334455667788",
		SHA256: "q1W0m7oJ2b3Y6cXyV0mYl0x3pJjz9XQf0Qk2sT8vA1U="}); !errors.Is(err, channels.ErrMediaChecksum) {
		t.Errorf("webhook checksum mismatch: want ErrMediaChecksum, got %v", err)
	}
	if _, err := p.FetchMedia(context.Background(), channels.MediaRef{ID: "1122334455667788", SHA256: b64}); err != nil {
		t.Errorf("webhook checksum match: %v", err)
	}

	// Too large for the connection's limit.
	srv = mediaServer(t, content, b64)
	small, _ := New(Config{Channel: crmpb.Channel_CHANNEL_WHATSAPP, Credentials: channels.Credentials{AccessToken: "tok"},
		Settings: channels.Settings{GraphBaseURL: srv.URL, MaxMediaBytes: 4}})
	if _, err := small.FetchMedia(context.Background(), channels.MediaRef{ID: "1122334455667788"}); !errors.Is(err, channels.ErrMediaTooLarge) {
		t.Errorf("too large: want ErrMediaTooLarge, got %v", err)
	}

	// Bad token / unknown id surface as typed errors.
	bad := newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP, channels.Credentials{AccessToken: "wrong"}, srv.URL)
	if _, err := bad.FetchMedia(context.Background(), channels.MediaRef{ID: "1122334455667788"}); channels.KindOf(err) != channels.Permanent {
		t.Errorf("bad token: want permanent, got %v", err)
	}
}

func TestFetchMediaMessengerURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Error("the page token must not go to the CDN")
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte("png"))
	}))
	defer srv.Close()
	p := newTestProvider(t, crmpb.Channel_CHANNEL_MESSENGER, channels.Credentials{AccessToken: "tok"}, "")
	got, err := p.FetchMedia(context.Background(), channels.MediaRef{URL: srv.URL + "/a.png"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "data", string(got.Data), "png")
	eq(t, "mime", got.MimeType, "image/png")
}

func TestListTemplates(t *testing.T) {
	t.Parallel()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v21.0/WABA1/message_templates" || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if r.URL.Query().Get("after") == "" {
			_, _ = w.Write([]byte(`{"data":[{"id":"1","name":"pedido_enviado","language":"pt_BR","status":"APPROVED","category":"UTILITY",
				"components":[{"type":"BODY","text":"Olá {{1}}, pedido {{2}}"}]}],
				"paging":{"next":"` + srv.URL + `/v21.0/WABA1/message_templates?after=abc"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"data":[{"id":"2","name":"boleto_pronto","language":"pt_BR","status":"PENDING","category":"UTILITY","components":[]}],"paging":{}}`))
	}))
	defer srv.Close()
	p := newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP, channels.Credentials{AccessToken: "tok", WABAID: "WABA1"}, srv.URL)
	got, err := p.ListTemplates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "pedido_enviado" || got[1].Status != "PENDING" || !strings.Contains(string(got[0].Components), "{{1}}") {
		t.Errorf("templates: %+v", got)
	}
	m := newTestProvider(t, crmpb.Channel_CHANNEL_MESSENGER, channels.Credentials{}, srv.URL)
	if _, err := m.ListTemplates(context.Background()); !errors.Is(err, channels.ErrUnsupported) {
		t.Errorf("messenger templates: %v", err)
	}
}
