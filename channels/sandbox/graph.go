package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// OutboxEntry is one request the sandbox received on /messages.
type OutboxEntry struct {
	MessageID string          `json:"message_id,omitempty"`
	To        string          `json:"to"`
	Type      string          `json:"type"`
	Request   json.RawMessage `json:"request"`
	// Statuses lists the status webhooks posted so far, in order.
	Statuses   []string    `json:"statuses"`
	Error      *GraphError `json:"error,omitempty"`
	ReceivedAt time.Time   `json:"received_at"`
}

// GraphError is Meta's error object.
type GraphError struct {
	Message   string `json:"message"`
	Type      string `json:"type"`
	Code      int    `json:"code"`
	ErrorData *struct {
		MessagingProduct string `json:"messaging_product,omitempty"`
		Details          string `json:"details"`
	} `json:"error_data,omitempty"`
	FBTraceID string `json:"fbtrace_id"`

	status     int
	retryAfter int
}

func graphError(status, code int, message, details string) *GraphError {
	e := &GraphError{Message: message, Type: "OAuthException", Code: code, FBTraceID: randomTrace(), status: status}
	if details != "" {
		e.ErrorData = &struct {
			MessagingProduct string `json:"messaging_product,omitempty"`
			Details          string `json:"details"`
		}{MessagingProduct: "whatsapp", Details: details}
	}
	return e
}

func invalidParameter(details string) *GraphError {
	return graphError(http.StatusBadRequest, 100, "(#100) Invalid parameter", details)
}

var (
	errTokenInvalid = func() *GraphError {
		return graphError(http.StatusUnauthorized, 190, "Invalid OAuth access token - Cannot parse access token", "")
	}
	errNoObject = func(id string) *GraphError {
		e := graphError(http.StatusBadRequest, 100, fmt.Sprintf("Unsupported request - method type: get. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", id), "")
		e.Type = "GraphMethodException"
		return e
	}
)

// injectedFailures: the error each failure name answers.
func injectedFailure(name string) *GraphError {
	switch name {
	case "131047":
		return graphError(http.StatusBadRequest, 131047, "(#131047) Re-engagement message",
			"Message failed to send because more than 24 hours have passed since the customer last replied to this number.")
	case "130429":
		e := graphError(http.StatusBadRequest, 130429, "(#130429) Rate limit hit",
			"Cloud API message throughput has been reached.")
		e.retryAfter = 3
		return e
	case "131026":
		return graphError(http.StatusBadRequest, 131026, "(#131026) Message Undeliverable",
			"Message failed to send because the recipient's phone number is not a WhatsApp phone number, or the recipient has not accepted our new Terms of Service and Privacy Policy.")
	case "131000":
		return graphError(http.StatusInternalServerError, 131000, "(#131000) Something went wrong",
			"Message failed to send due to an unknown error.")
	}
	return nil
}

// failureFor picks the failure a send meets: the connection's setting, else
// the recipient's last four digits.
func failureFor(conn Connection, to string) string {
	if conn.Failure != "" {
		return conn.Failure
	}
	digits := onlyDigits(to)
	if len(digits) < 4 {
		return ""
	}
	switch digits[len(digits)-4:] {
	case "0047":
		return "131047"
	case "0429":
		return "130429"
	case "0026":
		return "131026"
	case "0500":
		return "131000"
	case "0999":
		return "timeout"
	case "0031":
		return "failed_status"
	}
	return ""
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeGraphError(w http.ResponseWriter, e *GraphError) {
	w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_request"`)
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeJSON(w, e.status, map[string]any{"error": e})
}

var versionPattern = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// GraphHandler serves the Graph-compatible API. Mount it with its prefix
// stripped (http.StripPrefix(cfg.GraphPath, …)):
//
//	POST   /{version}/{phone_number_id}/messages
//	POST   /{version}/{phone_number_id}/media
//	GET    /{version}/{media_id}            → {url, mime_type, sha256, file_size, id}
//	DELETE /{version}/{media_id}
//	GET    /{version}/{phone_number_id}     → the number's profile
//	GET    /{version}/{waba_id}/message_templates
//	GET    /download/{media_id}             (the media URL; bearer token)
func (s *Sandbox) GraphHandler() http.Handler {
	return http.HandlerFunc(s.serveGraph)
}

func (s *Sandbox) serveGraph(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	token := ""
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		token = strings.TrimSpace(h[7:])
	} else if q := r.URL.Query().Get("access_token"); q != "" {
		token = q
	}
	conn, ok := s.connectionByToken(r.Context(), token)
	if !ok {
		writeGraphError(w, errTokenInvalid())
		return
	}
	if len(segs) == 2 && segs[0] == "download" && r.Method == http.MethodGet {
		s.download(w, conn, segs[1])
		return
	}
	if len(segs) < 2 || !versionPattern.MatchString(segs[0]) {
		writeGraphError(w, invalidParameter("Unknown path components: /"+strings.Join(segs, "/")))
		return
	}
	id := segs[1]
	switch {
	case len(segs) == 3 && segs[2] == "messages" && r.Method == http.MethodPost:
		if id != conn.PhoneNumberID {
			writeGraphError(w, errNoObject(id))
			return
		}
		s.send(w, r, conn)
	case len(segs) == 3 && segs[2] == "media" && r.Method == http.MethodPost:
		if id != conn.PhoneNumberID {
			writeGraphError(w, errNoObject(id))
			return
		}
		s.upload(w, r, conn)
	case len(segs) == 3 && segs[2] == "message_templates" && r.Method == http.MethodGet:
		if id != conn.WABAID {
			writeGraphError(w, errNoObject(id))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": templates, "paging": map[string]any{
			"cursors": map[string]string{"before": "MAZDZD", "after": "MAZDZD"}}})
	case len(segs) == 2 && r.Method == http.MethodGet && id == conn.PhoneNumberID:
		writeJSON(w, http.StatusOK, map[string]any{"verified_name": "Sandbox", "display_phone_number": conn.DisplayPhoneNumber,
			"id": conn.PhoneNumberID, "quality_rating": "GREEN", "code_verification_status": "VERIFIED",
			"platform_type": "CLOUD_API", "throughput": map[string]string{"level": "STANDARD"}})
	case len(segs) == 2 && r.Method == http.MethodGet:
		m, ok := s.lookupMedia(conn.ID, id)
		if !ok {
			writeGraphError(w, errNoObject(id))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"messaging_product": "whatsapp",
			"url": s.cfg.BaseURL + s.cfg.GraphPath + "/download/" + m.id, "mime_type": m.mimeType, "sha256": m.sha256,
			"file_size": len(m.data), "id": m.id})
	case len(segs) == 2 && r.Method == http.MethodDelete:
		if !s.deleteMedia(conn.ID, id) {
			writeGraphError(w, errNoObject(id))
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	default:
		writeGraphError(w, invalidParameter("Unsupported "+r.Method+" request on /"+strings.Join(segs, "/")))
	}
}

func (s *Sandbox) download(w http.ResponseWriter, conn Connection, id string) {
	m, ok := s.lookupMedia(conn.ID, id)
	if !ok {
		http.NotFound(w, nil)
		return
	}
	w.Header().Set("Content-Type", m.mimeType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	if m.filename != "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.filename}))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(m.data)
}

// upload takes Meta's multipart media upload: messaging_product, type and file.
func (s *Sandbox) upload(w http.ResponseWriter, r *http.Request, conn Connection) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxFileBytes+1<<20)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		writeGraphError(w, invalidParameter("expected multipart/form-data with messaging_product, type and file"))
		return
	}
	defer r.MultipartForm.RemoveAll()
	if r.FormValue("messaging_product") != "whatsapp" {
		writeGraphError(w, invalidParameter("The parameter messaging_product is required."))
		return
	}
	file, header, err := r.FormFile("file")
	if err != nil {
		writeGraphError(w, invalidParameter("The parameter file is required."))
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, s.cfg.MaxFileBytes+1))
	if err != nil {
		writeGraphError(w, invalidParameter("could not read the file"))
		return
	}
	mimeType := r.FormValue("type")
	if mimeType == "" {
		mimeType = header.Header.Get("Content-Type")
	}
	if mimeType == "" {
		writeGraphError(w, invalidParameter("The parameter type is required."))
		return
	}
	m, err := s.storeMedia(conn.ID, data, mimeType, header.Filename)
	if err != nil {
		writeGraphError(w, graphError(http.StatusBadRequest, 131053, "(#131053) Media upload error", err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": m.id})
}

// sendRequest is the part of Meta's send body the sandbox checks.
type sendRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Context          *struct {
		MessageID string `json:"message_id"`
	} `json:"context"`
	Text *struct {
		Body       string `json:"body"`
		PreviewURL *bool  `json:"preview_url"`
	} `json:"text"`
	Image    *sendMedia `json:"image"`
	Audio    *sendMedia `json:"audio"`
	Video    *sendMedia `json:"video"`
	Document *sendMedia `json:"document"`
	Sticker  *sendMedia `json:"sticker"`
	Location *struct {
		Latitude  *float64 `json:"latitude"`
		Longitude *float64 `json:"longitude"`
	} `json:"location"`
	Contacts []struct {
		Name struct {
			FormattedName string `json:"formatted_name"`
		} `json:"name"`
	} `json:"contacts"`
	Reaction *struct {
		MessageID string  `json:"message_id"`
		Emoji     *string `json:"emoji"`
	} `json:"reaction"`
	Interactive *struct {
		Type string `json:"type"`
		Body *struct {
			Text string `json:"text"`
		} `json:"body"`
		Action struct {
			Button  string `json:"button"`
			Buttons []struct {
				Type  string `json:"type"`
				Reply struct {
					ID    string `json:"id"`
					Title string `json:"title"`
				} `json:"reply"`
			} `json:"buttons"`
			Sections []struct {
				Rows []struct {
					ID    string `json:"id"`
					Title string `json:"title"`
				} `json:"rows"`
			} `json:"sections"`
		} `json:"action"`
	} `json:"interactive"`
	Template *struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []struct {
			Type       string            `json:"type"`
			Parameters []json.RawMessage `json:"parameters"`
		} `json:"components"`
	} `json:"template"`
}

type sendMedia struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

// validate checks what Meta would refuse at once.
func (s *Sandbox) validate(conn Connection, req *sendRequest) *GraphError {
	if req.MessagingProduct != "whatsapp" {
		return invalidParameter("The parameter messaging_product is required.")
	}
	if len(onlyDigits(req.To)) < 8 {
		return invalidParameter("The parameter to is required and must be a phone number.")
	}
	media := func(m *sendMedia, name string) *GraphError {
		if m == nil || (m.ID == "" && m.Link == "") {
			return invalidParameter("Param " + name + " must have an id or a link.")
		}
		if m.ID != "" {
			if _, ok := s.lookupMedia(conn.ID, m.ID); !ok {
				return invalidParameter("Param " + name + "['id'] is not a valid whatsapp business account media attachment ID")
			}
		}
		if m.ID == "" && !strings.HasPrefix(m.Link, "https://") && !strings.HasPrefix(m.Link, "http://") {
			return invalidParameter("Param " + name + "['link'] must be a valid URL")
		}
		return nil
	}
	switch req.Type {
	case "text":
		if req.Text == nil || strings.TrimSpace(req.Text.Body) == "" {
			return invalidParameter("The parameter text['body'] is required.")
		}
		if len([]rune(req.Text.Body)) > 4096 {
			return invalidParameter("Param text['body'] must be at most 4096 characters long.")
		}
	case "image":
		return media(req.Image, "image")
	case "audio":
		return media(req.Audio, "audio")
	case "video":
		return media(req.Video, "video")
	case "document":
		return media(req.Document, "document")
	case "sticker":
		return media(req.Sticker, "sticker")
	case "location":
		if req.Location == nil || req.Location.Latitude == nil || req.Location.Longitude == nil {
			return invalidParameter("Param location must have latitude and longitude.")
		}
	case "contacts":
		if len(req.Contacts) == 0 {
			return invalidParameter("The parameter contacts is required.")
		}
		for _, c := range req.Contacts {
			if c.Name.FormattedName == "" {
				return invalidParameter("Param contacts[0]['name']['formatted_name'] is required.")
			}
		}
	case "reaction":
		if req.Reaction == nil || req.Reaction.MessageID == "" || req.Reaction.Emoji == nil {
			return invalidParameter("Param reaction must have message_id and emoji.")
		}
	case "interactive":
		in := req.Interactive
		if in == nil || in.Body == nil || in.Body.Text == "" {
			return invalidParameter("Param interactive['body']['text'] is required.")
		}
		switch in.Type {
		case "button":
			if n := len(in.Action.Buttons); n == 0 || n > 3 {
				return invalidParameter("Param interactive['action']['buttons'] must have 1 to 3 buttons.")
			}
			for _, b := range in.Action.Buttons {
				if b.Reply.ID == "" || b.Reply.Title == "" || len([]rune(b.Reply.Title)) > 20 {
					return invalidParameter("Each button needs an id and a title of at most 20 characters.")
				}
			}
		case "list":
			rows := 0
			for _, sec := range in.Action.Sections {
				rows += len(sec.Rows)
			}
			if in.Action.Button == "" || len(in.Action.Sections) == 0 || rows == 0 || rows > 10 {
				return invalidParameter("A list needs a button and 1 to 10 rows in its sections.")
			}
		default:
			return invalidParameter("Param interactive['type'] must be button or list.")
		}
	case "template":
		return checkTemplate(req)
	default:
		return invalidParameter("Param type must be one of {text, image, audio, video, document, sticker, location, contacts, reaction, interactive, template}.")
	}
	return nil
}

// send answers POST /{phone_number_id}/messages.
func (s *Sandbox) send(w http.ResponseWriter, r *http.Request, conn Connection) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeGraphError(w, invalidParameter("could not read the request body"))
		return
	}
	var req sendRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		writeGraphError(w, invalidParameter("The request body is not valid JSON."))
		return
	}
	if req.Type == "" {
		req.Type = "text"
	}
	compact := &bytes.Buffer{}
	if json.Compact(compact, raw) != nil {
		compact = bytes.NewBuffer(raw)
	}
	entry := &OutboxEntry{To: req.To, Type: req.Type, Request: compact.Bytes(), Statuses: []string{}, ReceivedAt: s.cfg.Now()}
	fail := func(e *GraphError) {
		entry.Error = e
		s.record(conn.ID, entry)
		writeGraphError(w, e)
	}
	if e := s.validate(conn, &req); e != nil {
		fail(e)
		return
	}
	failure := failureFor(conn, req.To)
	if failure == "131047" && req.Type == "template" {
		failure = "" // a closed window still takes templates
	}
	switch failure {
	case "timeout":
		entry.Error = graphError(http.StatusGatewayTimeout, 0, "timeout (injected)", "")
		s.record(conn.ID, entry)
		// Hold the request until the caller gives up.
		select {
		case <-r.Context().Done():
		case <-s.ctx.Done():
		case <-time.After(5 * time.Minute):
		}
		return
	case "131047", "130429", "131026", "131000":
		fail(injectedFailure(failure))
		return
	}
	entry.MessageID = newWAMID()
	s.record(conn.ID, entry)
	waID := onlyDigits(req.To)
	writeJSON(w, http.StatusOK, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": req.To, "wa_id": waID}},
		"messages":          []map[string]string{{"id": entry.MessageID}},
	})
	s.scheduleStatuses(conn, entry, waID, failure == "failed_status")
}

// scheduleStatuses posts sent, delivered and read (or sent and failed),
// each after its delay, in order.
func (s *Sandbox) scheduleStatuses(conn Connection, entry *OutboxEntry, recipient string, failed bool) {
	delays := s.delays(conn)
	steps := []string{"sent", "delivered", "read"}
	if failed {
		steps = []string{"sent", "failed"}
	}
	url := s.WebhookURL(conn.ID)
	conversationID := randomDigits(20)
	var step func(i int)
	step = func(i int) {
		if i == len(steps) {
			return
		}
		time.AfterFunc(delays[min(i, 2)], func() {
			if !s.begin() {
				return
			}
			defer s.wg.Done()
			body, err := statusWebhook(conn, entry.MessageID, recipient, steps[i], conversationID, s.cfg.Now())
			if err != nil {
				s.log.Error("sandbox status webhook not built", "connection", conn.ID, "status", steps[i], "error", err)
				return
			}
			if err := s.post(s.ctx, url, conn.AppSecret, body, 3); err != nil {
				s.log.Warn("sandbox status webhook not delivered", "connection", conn.ID, "status", steps[i], "error", err)
			}
			s.addStatus(entry, steps[i])
			step(i + 1)
		})
	}
	step(0)
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// errWebhookRejected: our webhook endpoint did not answer 2xx.
var errWebhookRejected = errors.New("webhook rejected")
