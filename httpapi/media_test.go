package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
)

// testClock (licensing_test.go) moves the clock for expiring URLs.

func newMediaEnv(t *testing.T, mutate ...func(*Config)) (*testEnv, *testClock) {
	t.Helper()
	blobs, err := persistence.NewLocalBlobStore(t.TempDir())
	require.NoError(t, err)
	clock := &testClock{now: time.Now()}
	env := newTestEnv(t, append([]func(*Config){func(c *Config) {
		c.Blobs = blobs
		c.Now = clock.Now
		c.Sealer = testSealer(t, 'm')
	}}, mutate...)...)
	return env, clock
}

// Small files of real formats (enough bytes for the content sniffer).
var (
	pngBytes  = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 200)...)
	jpegBytes = append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{1}, 200)...)
	webpBytes = append([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), bytes.Repeat([]byte{2}, 200)...)
	oggBytes  = append([]byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00OpusHead"), bytes.Repeat([]byte{3}, 200)...)
	mp4Bytes  = append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), bytes.Repeat([]byte{4}, 200)...)
	pdfBytes  = append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 200)...)
	amrBytes  = append([]byte("#!AMR\n"), bytes.Repeat([]byte{5}, 200)...)
)

// upload posts one file as multipart field "file".
func (e *testEnv) upload(token, query, filename, contentType string, data []byte) response {
	e.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+filename+`"`)
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	part, err := w.CreatePart(h)
	require.NoError(e.t, err)
	_, err = part.Write(data)
	require.NoError(e.t, err)
	require.NoError(e.t, w.Close())
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+"/api/v1/media"+query, &body)
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return response{t: e.t, Status: res.StatusCode, Header: res.Header, Body: raw}
}

// get fetches an absolute URL without credentials, as an <img> would.
func getURL(t *testing.T, rawURL string) (int, http.Header, []byte) {
	t.Helper()
	res, err := http.Get(rawURL)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, res.Header, body
}

func TestMediaUploadAndSignedURL(t *testing.T) {
	t.Parallel()
	env, clock := newMediaEnv(t)
	acme := env.tenant("acme")
	_, agent := env.user(acme, crm.RoleAgent, "agent")

	res := env.upload(agent, "", "foto.png", "image/png", pngBytes)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	m := res.JSON()
	sum := sha256.Sum256(pngBytes)
	require.Equal(t, "image/png", m["mime_type"])
	require.Equal(t, "image", m["kind"])
	require.EqualValues(t, len(pngBytes), m["size"])
	require.Equal(t, hex.EncodeToString(sum[:]), m["sha256"])
	require.Equal(t, "foto.png", m["filename"])
	id := m["id"].(string)
	rawURL := m["url"].(string)
	require.True(t, strings.HasPrefix(rawURL, env.ts.URL+"/api/v1/media/"+id+"/content?"), rawURL)

	// The signed URL works without a bearer header.
	status, header, body := getURL(t, rawURL)
	require.Equal(t, http.StatusOK, status, string(body))
	require.Equal(t, pngBytes, body)
	require.Equal(t, "image/png", header.Get("Content-Type"))
	require.Equal(t, "nosniff", header.Get("X-Content-Type-Options"))
	require.True(t, strings.HasPrefix(header.Get("Content-Disposition"), "inline"))

	// A range, as a media player asks.
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	req.Header.Set("Range", "bytes=0-7")
	rangeRes, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	partial, _ := io.ReadAll(rangeRes.Body)
	rangeRes.Body.Close()
	require.Equal(t, http.StatusPartialContent, rangeRes.StatusCode)
	require.Equal(t, pngBytes[:8], partial)

	// Tampering with any part of the URL is refused.
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	tamper := func(mutate func(q url.Values, u *url.URL)) int {
		v := *u
		q := v.Query()
		mutate(q, &v)
		v.RawQuery = q.Encode()
		status, _, _ := getURL(t, v.String())
		return status
	}
	require.Equal(t, http.StatusForbidden, tamper(func(q url.Values, _ *url.URL) {
		sig := []byte(q.Get("sig"))
		sig[0] ^= 1
		if sig[0] == '0'^1 {
			sig[0] = 'a'
		}
		q.Set("sig", string(sig))
	}))
	require.Equal(t, http.StatusForbidden, tamper(func(q url.Values, _ *url.URL) { q.Del("sig") }))
	require.Equal(t, http.StatusForbidden, tamper(func(q url.Values, _ *url.URL) {
		exp, _ := time.Parse(time.RFC3339, "2099-01-01T00:00:00Z")
		q.Set("expires", exp.Format("20060102"))
	}))
	globex := env.tenant("globex")
	require.Equal(t, http.StatusForbidden, tamper(func(q url.Values, _ *url.URL) { q.Set("tenant", globex.ID.String()) }))
	require.Equal(t, http.StatusForbidden, tamper(func(_ url.Values, v *url.URL) {
		v.Path = "/api/v1/media/" + crm.NewID().String() + "/content"
	}))

	// A correctly signed URL for media of another tenant finds nothing.
	key := MediaURLKeyFrom(bytes.Repeat([]byte("k"), 32))
	status, _, _ = getURL(t, SignMediaURL(key, env.ts.URL, globex.ID, uuid.MustParse(id), clock.Now().Add(time.Hour)))
	require.Equal(t, http.StatusNotFound, status)

	// Details with a fresh URL, tenant-checked.
	res = env.do(http.MethodGet, "/api/v1/media/"+id, agent, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, id, res.JSON()["id"])
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/media/"+id, globex.AdminToken, nil).Status)

	// An hour later the URL has expired.
	clock.Advance(MediaURLTTL + time.Minute)
	status, _, body = getURL(t, rawURL)
	require.Equal(t, http.StatusForbidden, status)
	require.Contains(t, string(body), "url_expired")
	agent = env.login("agent@acme.test", testPassword) // the access token expired too
	fresh := env.do(http.MethodGet, "/api/v1/media/"+id, agent, nil).JSON()["url"].(string)
	status, _, _ = getURL(t, fresh)
	require.Equal(t, http.StatusOK, status)
}

func TestMediaUploadLimits(t *testing.T) {
	t.Parallel()
	env, _ := newMediaEnv(t)
	acme := env.tenant("acme")
	token := acme.AdminToken
	big := func(head []byte, size int) []byte {
		out := make([]byte, size)
		copy(out, head)
		return out
	}
	cases := []struct {
		name, query, filename, declared string
		data                            []byte
		status                          int
		mime, kind, code                string
	}{
		{"jpeg", "", "a.jpg", "image/jpeg", jpegBytes, 201, "image/jpeg", "image", ""},
		{"png declared as jpeg: content wins", "", "a.jpg", "image/jpeg", pngBytes, 201, "image/png", "image", ""},
		{"image over 5 MB", "", "big.png", "image/png", big(pngBytes, 5<<20+1), 413, "", "", "media_too_large"},
		{"sticker", "", "s.webp", "image/webp", webpBytes, 201, "image/webp", "sticker", ""},
		{"sticker over 500 KB", "", "s.webp", "image/webp", big(webpBytes, 500<<10+1), 413, "", "", "media_too_large"},
		{"opus voice note", "", "voice.ogg", "audio/ogg; codecs=opus", oggBytes, 201, "audio/ogg", "audio", ""},
		{"amr by declared type", "", "a.amr", "audio/amr", amrBytes, 201, "audio/amr", "audio", ""},
		{"mp4 video", "", "v.mp4", "video/mp4", mp4Bytes, 201, "video/mp4", "video", ""},
		{"3gpp video", "", "v.3gp", "video/3gpp", mp4Bytes, 201, "video/3gpp", "video", ""},
		{"video over 16 MB", "", "v.mp4", "video/mp4", big(mp4Bytes, 16<<20+1), 413, "", "", "media_too_large"},
		{"pdf document", "", "contrato.pdf", "application/pdf", pdfBytes, 201, "application/pdf", "document", ""},
		{"type from the extension", "", "contrato.pdf", "", pdfBytes, 201, "application/pdf", "document", ""},
		{"gif is a document on whatsapp", "", "a.gif", "image/gif", append([]byte("GIF89a"), pdfBytes...), 201, "image/gif", "document", ""},
		{"html refused", "", "x.html", "text/html", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), 400, "", "", "unsupported_media_type"},
		{"svg refused", "", "x.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 400, "", "", ""},
		{"declared image that isn't", "", "x.jpg", "image/jpeg", bytes.Repeat([]byte{0, 1, 2, 3}, 100), 400, "", "", "media_type_mismatch"},
		{"empty file", "", "x.png", "image/png", nil, 400, "", "", "validation_failed"},
		{"instagram takes no documents", "?channel=instagram", "a.pdf", "application/pdf", pdfBytes, 400, "", "", "unsupported_media_type"},
		{"messenger gif image", "?channel=messenger", "a.gif", "image/gif", append([]byte("GIF89a"), pdfBytes...), 201, "image/gif", "image", ""},
		{"unknown channel", "?channel=telegram", "a.png", "image/png", pngBytes, 400, "", "", "validation_failed"},
		{"image sent as a document", "?kind=document", "a.png", "image/png", pngBytes, 201, "image/png", "document", ""},
	}
	for _, tc := range cases {
		res := env.upload(token, tc.query, tc.filename, tc.declared, tc.data)
		require.Equal(t, tc.status, res.Status, "%s: %s", tc.name, res.Body)
		if tc.status == 201 {
			require.Equal(t, tc.mime, res.JSON()["mime_type"], tc.name)
			require.Equal(t, tc.kind, res.JSON()["kind"], tc.name)
		}
		if tc.code != "" {
			require.Equal(t, tc.code, res.ErrorCode(), "%s: %s", tc.name, res.Body)
		}
	}
	// The document limit is far larger than the image limit.
	res := env.upload(token, "", "big.pdf", "application/pdf", big(pdfBytes, 6<<20))
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))

	// No file field.
	req, _ := http.NewRequest(http.MethodPost, env.ts.URL+"/api/v1/media", strings.NewReader("--x--\r\n"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.Header.Set("Authorization", "Bearer "+token)
	raw, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw.Body.Close()
	require.Equal(t, http.StatusBadRequest, raw.StatusCode)
	require.Equal(t, http.StatusBadRequest, env.do(http.MethodPost, "/api/v1/media", token, map[string]any{"file": "x"}).Status)
	require.Equal(t, http.StatusUnauthorized, env.upload("", "", "a.png", "image/png", pngBytes).Status)

	// A rejected upload leaves no row behind.
	var n int
	require.NoError(t, env.db.TenantTx(context.Background(), acme.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM media`).Scan(&n)
	}))
	require.Equal(t, 13, n)
}

func TestMediaInboundStore(t *testing.T) {
	t.Parallel()
	env, _ := newMediaEnv(t)
	acme := env.tenant("acme")
	ctx := context.Background()
	store, err := persistence.NewMediaStore(env.db, env.srv.cfg.Blobs)
	require.NoError(t, err)
	sum := sha256.Sum256(jpegBytes)

	// A checksum mismatch stores nothing.
	wrong := sha256.Sum256([]byte("other"))
	_, err = store.StoreInboundMedia(ctx, acme.ID, "wamid-media-1", jpegBytes, "image/jpeg", hex.EncodeToString(wrong[:]), "")
	require.ErrorIs(t, err, crm.ErrUnprocessable)
	var coded *crm.Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, "media_checksum_mismatch", coded.Code)

	// Meta gives base64 checksums; hex works too.
	first, err := store.StoreInboundMedia(ctx, acme.ID, "wamid-media-1", jpegBytes, "image/jpeg",
		base64.StdEncoding.EncodeToString(sum[:]), "../../etc/foto.jpg")
	require.NoError(t, err)
	require.Equal(t, "inbound", first.Source)
	require.Equal(t, hex.EncodeToString(sum[:]), first.SHA256)
	require.Equal(t, "foto.jpg", first.Filename, "paths are dropped from file names")
	again, err := store.StoreInboundMedia(ctx, acme.ID, "wamid-media-1", jpegBytes, "image/jpeg", hex.EncodeToString(sum[:]), "")
	require.NoError(t, err)
	require.Equal(t, first.ID, again.ID, "idempotent on the provider media id")

	// Concurrent deliveries of one media store it once.
	var wg sync.WaitGroup
	ids := make([]uuid.UUID, 6)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := store.StoreInboundMedia(ctx, acme.ID, "wamid-media-2", pngBytes, "image/png", "", "")
			require.NoError(t, err)
			ids[i] = m.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id)
	}

	rc, m, err := store.Open(ctx, acme.ID, first.ID)
	require.NoError(t, err)
	data, _ := io.ReadAll(rc)
	rc.Close()
	require.Equal(t, jpegBytes, data)
	require.Equal(t, "image/jpeg", m.MimeType)
	// Other tenants see none of it.
	globex := env.tenant("globex")
	_, _, err = store.Open(ctx, globex.ID, first.ID)
	require.ErrorIs(t, err, crm.ErrNotFound)
	other, err := store.StoreInboundMedia(ctx, globex.ID, "wamid-media-1", jpegBytes, "image/jpeg", "", "")
	require.NoError(t, err)
	require.NotEqual(t, first.ID, other.ID)

	var n int
	require.NoError(t, env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM media WHERE source = 'inbound'`).Scan(&n)
	}))
	require.Equal(t, 2, n)

	// The API shows inbound media like uploads.
	res := env.do(http.MethodGet, "/api/v1/media/"+first.ID.String(), acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status)
	status, _, body := getURL(t, res.JSON()["url"].(string))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, jpegBytes, body)
}

// TestSendWithUnknownMediaIsRefused: a media_id of another tenant, or one
// that names nothing, is refused 422 media_not_found before anything is
// stored or sent (issue #14, item 5).
func TestSendWithUnknownMediaIsRefused(t *testing.T) {
	t.Parallel()
	env := newEngineEnv(t)
	ctx := context.Background()
	convID := env.openConversation("5511911112222", "Rita", "wamid.media.in.1", "Manda a foto?")["id"].(string)
	blobs, err := persistence.NewLocalBlobStore(t.TempDir())
	require.NoError(t, err)
	store, err := persistence.NewMediaStore(env.db, blobs)
	require.NoError(t, err)
	globex := env.testEnv.tenant("globex")
	sum := sha256.Sum256(pngBytes)
	foreign, err := store.Create(ctx, globex.ID, persistence.NewMedia{MimeType: "image/png", Size: int64(len(pngBytes)),
		SHA256: hex.EncodeToString(sum[:]), Filename: "alheia.png"}, bytes.NewReader(pngBytes))
	require.NoError(t, err)

	send := func(key string, body map[string]any) response {
		body["idempotency_key"] = key
		return env.do(http.MethodPost, "/api/v1/conversations/"+convID+"/messages", env.tenant.AdminToken, body)
	}
	for name, mediaID := range map[string]uuid.UUID{"another tenant's media": foreign.ID, "a random id": crm.NewID()} {
		res := send("img-"+mediaID.String(), map[string]any{"type": "image", "media_id": mediaID.String(), "text": "olha"})
		require.Equal(t, http.StatusUnprocessableEntity, res.Status, "%s: %s", name, res.Body)
		require.Equal(t, "media_not_found", res.ErrorCode(), name)
	}

	// Nothing was stored: the only messages are the customer's and the text sent next.
	res := send("text-after", map[string]any{"type": "text", "text": "Só um instante"})
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	checkFor(t, 10*time.Second, func() error {
		msgs := env.messages(convID)
		if len(msgs) != 2 || msgs[1]["status"] != "sent" {
			return fmt.Errorf("messages %v", msgs)
		}
		return nil
	})
	msgs := env.messages(convID)
	require.Equal(t, "text", msgs[1]["type"])
	// And nothing went out but the text.
	require.Equal(t, 1, env.graph.count())
	require.Equal(t, "text", env.graph.sends[0]["type"])
}

// TestMediaDetailsFollowConversationVisibility: GET /api/v1/media/{id}
// answers only to who may see a conversation the media was sent or received
// in; media in no conversation is its uploader's (and the admins'), a quick
// reply's media everyone's who reads quick replies (issue #14, item 5).
func TestMediaDetailsFollowConversationVisibility(t *testing.T) {
	t.Parallel()
	env, _ := newMediaEnv(t)
	acme := env.tenant("acme")
	ctx := context.Background()
	_, tokenA := env.user(acme, crm.RoleAgent, "Ana")
	agentB, tokenB := env.user(acme, crm.RoleAgent, "Bruno")
	supervisorID, tokenSupervisor := env.user(acme, crm.RoleSupervisor, "Sara")
	team := env.addTeam(acme.ID, agentB, supervisorID)

	upload := func(token string) uuid.UUID {
		res := env.upload(token, "", "foto.png", "image/png", pngBytes)
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		return uuid.MustParse(res.JSON()["id"].(string))
	}
	inB, inTeam, inQueue, unsent, replyMedia := upload(tokenA), upload(acme.AdminToken), upload(acme.AdminToken), upload(tokenA), upload(acme.AdminToken)

	// Conversations: one assigned to Bruno, one of his team waiting for
	// someone, one in the unassigned queue; each holds a message with media.
	connID := crm.NewID()
	conversation := func(tx pgx.Tx, assignee, teamID *uuid.UUID, media uuid.UUID) error {
		id, contactID := crm.NewID(), crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, name) VALUES ($1, $2, 'Cliente')`, acme.ID, contactID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO conversations (tenant_id, id, connection_id, contact_id, channel, assignee_id, team_id, last_seq)
			VALUES ($1, $2, $3, $4, 'whatsapp', $5, $6, 1)`, acme.ID, id, connID, contactID, assignee, teamID); err != nil {
			return err
		}
		_, err := persistence.InsertMessage(ctx, tx, &crm.Message{TenantID: acme.ID, ConversationID: id, ConnectionID: connID,
			ContactID: contactID, Seq: 1, Direction: "outbound", Type: "image", Status: "sent",
			Media: json.RawMessage(`{"media_id":"` + media.String() + `"}`)})
		return err
	}
	require.NoError(t, env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret)
			VALUES ($1, $2, 'WA', 'whatsapp', 'sandbox', 'vt', 'ws')`, acme.ID, connID); err != nil {
			return err
		}
		if err := conversation(tx, &agentB, nil, inB); err != nil {
			return err
		}
		if err := conversation(tx, nil, &team, inTeam); err != nil {
			return err
		}
		return conversation(tx, nil, nil, inQueue)
	}))
	res := env.do(http.MethodPost, "/api/v1/quick-replies", acme.AdminToken,
		map[string]any{"shortcut": "foto", "title": "Foto", "text": "Veja", "media_id": replyMedia.String()})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))

	status := func(token string, id uuid.UUID) int {
		return env.do(http.MethodGet, "/api/v1/media/"+id.String(), token, nil).Status
	}
	cases := []struct {
		name  string
		media uuid.UUID
		want  map[string]int // who → status
	}{
		// Ana uploaded it, but it went into Bruno's conversation, which she cannot open.
		{"in a conversation assigned to Bruno", inB, map[string]int{"ana": 404, "bruno": 200, "supervisor": 404, "admin": 200}},
		{"in his team's waiting conversation", inTeam, map[string]int{"ana": 404, "bruno": 200, "supervisor": 200, "admin": 200}},
		{"in the unassigned queue", inQueue, map[string]int{"ana": 200, "bruno": 200, "supervisor": 200, "admin": 200}},
		{"uploaded, not sent yet", unsent, map[string]int{"ana": 200, "bruno": 404, "supervisor": 404, "admin": 200}},
		{"a quick reply's", replyMedia, map[string]int{"ana": 200, "bruno": 200, "supervisor": 200, "admin": 200}},
	}
	tokens := map[string]string{"ana": tokenA, "bruno": tokenB, "supervisor": tokenSupervisor, "admin": acme.AdminToken}
	for _, tc := range cases {
		for who, want := range tc.want {
			require.Equal(t, want, status(tokens[who], tc.media), "%s, asked by %s", tc.name, who)
		}
	}
}
