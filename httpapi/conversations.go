package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/actors"
	"crm/persistence"
)

type listConversationsQuery struct {
	Status       string `form:"status"`        // comma-separated: open,in_progress,waiting,resolved,archived
	AssigneeID   string `form:"assignee_id"`   // a user id, "me", or "none" for the unassigned
	TeamID       string `form:"team_id"`       // a team id
	LabelID      string `form:"label_id"`      // a label id
	ConnectionID string `form:"connection_id"` // a connection id
	ContactID    string `form:"contact_id"`    // a contact id
	Q            string `form:"q"`             // contact name, phone or email
	Cursor       string `form:"cursor"`
	Limit        int    `form:"limit"`
}

type searchMessagesQuery struct {
	Q      string `form:"q"` // words of the message text, each a prefix; accents and case are ignored
	Cursor string `form:"cursor"`
	Limit  int    `form:"limit"`
}

type patchConversationRequest struct {
	Status     *string          `json:"status,omitempty"`
	AssigneeID *json.RawMessage `json:"assignee_id,omitempty"` // a user id, or null to unassign
	TeamID     *json.RawMessage `json:"team_id,omitempty"`     // a team id, or null to clear
	LabelIDs   *[]uuid.UUID     `json:"label_ids,omitempty"`
	// Note is an internal note stored with the change (a transfer's
	// reason, for the next agent); up to 4,000 characters.
	Note *string `json:"note,omitempty"`
}

type listMessagesQuery struct {
	Cursor string `form:"cursor"` // page forward (oldest to newest)
	Before string `form:"before"` // page back: messages before this seq; "latest" for the newest page
	Limit  int    `form:"limit"`
}

type sendMessageRequest struct {
	// Type: text, image, audio, video, document, sticker, template, location,
	// contacts, reaction or interactive.
	Type     string          `json:"type"`
	Text     string          `json:"text,omitempty"`
	MediaID  *uuid.UUID      `json:"media_id,omitempty"`
	Template json.RawMessage `json:"template,omitempty"`
	// Location is {latitude, longitude, name?, address?}.
	Location *actors.LocationContent `json:"location,omitempty"`
	// Contacts are WhatsApp contact cards: [{name: {formatted_name}, phones: [{phone, wa_id?, type?}], …}].
	Contacts json.RawMessage `json:"contacts,omitempty"`
	// Reaction is {message_id, emoji}; an empty emoji removes it.
	Reaction *actors.ReactionContent `json:"reaction,omitempty"`
	// Interactive is {type: button|list, header?, body, footer?, buttons?, list_button?, sections?}.
	Interactive    *actors.InteractiveContent `json:"interactive,omitempty"`
	ReplyToID      *uuid.UUID                 `json:"reply_to_id,omitempty"`
	IdempotencyKey string                     `json:"idempotency_key" required:"true"`
}

type noteRequest struct {
	Text string `json:"text" required:"true"`
}

type notesResponse struct {
	Items      []persistence.Note `json:"items"`
	NextCursor *string            `json:"next_cursor"`
}

func (s *Server) conversationRoutes() {
	s.route(op{Method: http.MethodGet, Path: "/api/v1/conversations", Summary: "List the conversations you may see, newest activity first",
		Tag: "conversations", Access: accessTenant, Perm: crm.PermConversationsRead, Query: listConversationsQuery{},
		Response: crm.Page[*crm.Conversation]{}}, s.listConversations)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/messages/search", Summary: "Messages whose text holds every word of q, newest first, in the conversations you may see (a page may be short and still have a next cursor)",
		Tag: "conversations", Access: accessTenant, Perm: crm.PermConversationsRead, Query: searchMessagesQuery{},
		Response: crm.Page[persistence.MessageHit]{}}, s.searchMessages)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/conversations/:id", Summary: "Get a conversation",
		Tag: "conversations", Access: accessTenant, Perm: crm.PermConversationsRead, Response: crm.Conversation{}}, s.getConversation)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/conversations/:id", Summary: "Change status, assignee, team or labels",
		Tag: "conversations", Access: accessTenant, Perm: crm.PermConversationsWrite, Request: patchConversationRequest{},
		Response: crm.Conversation{}}, s.patchConversation)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/conversations/:id/read", Summary: "Mark a conversation read",
		Tag: "conversations", Access: accessTenant, Perm: crm.PermConversationsRead, Response: crm.Conversation{}}, s.readConversation)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/conversations/:id/messages", Summary: "Messages by seq, oldest to newest; ?before= pages back",
		Tag: "conversations", Access: accessTenant, Perm: crm.PermConversationsRead, Query: listMessagesQuery{},
		Response: crm.Page[*crm.Message]{}}, s.listMessages)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/conversations/:id/messages", Summary: "Send a message (stored pending under its idempotency key)",
		Tag: "conversations", Access: accessTenant, Perm: crm.PermMessagesSend, Request: sendMessageRequest{},
		Response: crm.Message{}, Status: http.StatusAccepted}, s.sendMessage)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/conversations/:id/notes", Summary: "Internal notes of a conversation",
		Tag: "conversations", Access: accessTenant, Perm: crm.PermConversationsRead, Response: notesResponse{}}, s.listNotes)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/conversations/:id/notes", Summary: "Write an internal note",
		Tag: "conversations", Access: accessTenant, Perm: crm.PermConversationsWrite, Request: noteRequest{},
		Response: persistence.Note{}, Status: http.StatusCreated}, s.addNote)
}

// visibility is what the principal may see of the inbox.
func (s *Server) visibility(c *gin.Context, p crm.Principal) (crm.Visibility, error) {
	if p.Role.Can(crm.PermConversationsAll) {
		return crm.VisibilityFor(p, nil), nil
	}
	teams, err := s.db.UserTeamIDs(c, p.TenantID, p.UserID)
	if err != nil {
		return crm.Visibility{}, err
	}
	return crm.VisibilityFor(p, teams), nil
}

func fieldError(field, msg string) error {
	return crm.NewError(crm.ErrInvalid, "validation_failed", "some fields are invalid",
		map[string]any{"fields": map[string]any{field: msg}})
}

func optionalID(field, raw string) (*uuid.UUID, error) {
	if raw == "" {
		return nil, nil
	}
	id, err := uuid.Parse(raw)
	if err != nil {
		return nil, fieldError(field, "must be a UUID")
	}
	return &id, nil
}

func (s *Server) listConversations(c *gin.Context, p crm.Principal) error {
	var q listConversationsQuery
	if err := c.ShouldBindQuery(&q); err != nil {
		return fieldError("query", "malformed query parameters")
	}
	v, err := s.visibility(c, p)
	if err != nil {
		return err
	}
	f := persistence.ConversationFilter{Query: q.Q, Cursor: q.Cursor, Limit: q.Limit}
	if q.Status != "" {
		for _, st := range strings.Split(q.Status, ",") {
			if _, err := crm.ParseConversationStatus(st); err != nil {
				return fieldError("status", "must be open, in_progress, waiting, resolved or archived")
			}
			f.Status = append(f.Status, st)
		}
	}
	switch q.AssigneeID {
	case "":
	case "me":
		f.AssigneeID = &p.UserID
	case "none":
		f.Unassigned = true
	default:
		if f.AssigneeID, err = optionalID("assignee_id", q.AssigneeID); err != nil {
			return err
		}
	}
	if f.TeamID, err = optionalID("team_id", q.TeamID); err != nil {
		return err
	}
	if f.TeamID != nil && !v.All && !slices.Contains(v.TeamIDs, *f.TeamID) {
		// A supervisor's "Todas" covers their own teams; naming another
		// team's list is refused rather than answered empty, so the console
		// never shows a silently blank tab.
		return crm.NewError(crm.ErrForbidden, "not_team_member", "you may only list the conversations of your own teams", nil)
	}
	if f.LabelID, err = optionalID("label_id", q.LabelID); err != nil {
		return err
	}
	if f.ConnectionID, err = optionalID("connection_id", q.ConnectionID); err != nil {
		return err
	}
	if f.ContactID, err = optionalID("contact_id", q.ContactID); err != nil {
		return err
	}
	page, err := s.db.ListConversations(c, p.TenantID, v, f)
	if err != nil {
		return err
	}
	if err := s.fillSLA(c, p.TenantID, page.Items...); err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) searchMessages(c *gin.Context, p crm.Principal) error {
	var q searchMessagesQuery
	if err := c.ShouldBindQuery(&q); err != nil {
		return fieldError("query", "malformed query parameters")
	}
	if len([]rune(q.Q)) > 200 {
		return fieldError("q", "must have at most 200 characters")
	}
	v, err := s.visibility(c, p)
	if err != nil {
		return err
	}
	page, err := s.db.SearchMessages(c, p.TenantID, v, strings.TrimSpace(q.Q), q.Cursor, q.Limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

// visibleConversation loads a conversation the principal may see (else 404).
func (s *Server) visibleConversation(c *gin.Context, p crm.Principal) (*crm.Conversation, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, err
	}
	v, err := s.visibility(c, p)
	if err != nil {
		return nil, err
	}
	return s.db.GetConversation(c, p.TenantID, id, v)
}

func (s *Server) getConversation(c *gin.Context, p crm.Principal) error {
	conv, err := s.visibleConversation(c, p)
	if err != nil {
		return err
	}
	if err := s.fillSLA(c, p.TenantID, conv); err != nil {
		return err
	}
	c.JSON(http.StatusOK, conv)
	return nil
}

// fillSLA sets the conversations' first-response due times (a node
// without an engine leaves them out).
func (s *Server) fillSLA(c *gin.Context, tenant uuid.UUID, convs ...*crm.Conversation) error {
	if s.cfg.Engine == nil || len(convs) == 0 {
		return nil
	}
	return s.cfg.Engine.SLADue(c, tenant, convs)
}

// publish tells the open consoles of a committed change made here (a
// contact, label or quick reply): live through the engine's publishers. An
// event with no type (a patch that changed nothing) is not published. A
// node without an engine publishes nothing; the event is stored all the
// same, and consoles find it when they resume.
func (s *Server) publish(tenantID uuid.UUID, ev crm.TenantEvent) {
	if s.cfg.Engine != nil && ev.Type != "" {
		s.cfg.Engine.Publish(tenantID, []crm.TenantEvent{ev})
	}
}

func (s *Server) conversationEngine() (*actors.Engine, error) {
	if s.cfg.Engine == nil {
		return nil, crm.NewError(crm.ErrUnprocessable, "engine_unavailable", "conversations cannot be changed on this node", nil)
	}
	return s.cfg.Engine, nil
}

// rawID reads a JSON value that is a UUID or null.
func rawID(field string, raw *json.RawMessage) (id *uuid.UUID, clear bool, err error) {
	if raw == nil {
		return nil, false, nil
	}
	if string(*raw) == "null" {
		return nil, true, nil
	}
	var s string
	if err := json.Unmarshal(*raw, &s); err != nil {
		return nil, false, fieldError(field, "must be a UUID or null")
	}
	parsed, err := uuid.Parse(s)
	if err != nil {
		return nil, false, fieldError(field, "must be a UUID or null")
	}
	return &parsed, false, nil
}

func (s *Server) patchConversation(c *gin.Context, p crm.Principal) error {
	var req patchConversationRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	assignee, unassign, err := rawID("assignee_id", req.AssigneeID)
	if err != nil {
		return err
	}
	team, clearTeam, err := rawID("team_id", req.TeamID)
	if err != nil {
		return err
	}
	if req.Status != nil {
		if _, err := crm.ParseConversationStatus(*req.Status); err != nil {
			return fieldError("status", "must be open, in_progress, waiting, resolved or archived")
		}
	}
	note := ""
	if req.Note != nil {
		note = strings.TrimSpace(*req.Note)
		if n := utf8.RuneCountInString(note); n == 0 || n > 4000 {
			return fieldError("note", "must have 1 to 4000 characters")
		}
	}
	conv, err := s.visibleConversation(c, p)
	if err != nil {
		return err
	}
	if err := s.checkReferences(c, p.TenantID, assignee, team, req.LabelIDs); err != nil {
		return err
	}
	engine, err := s.conversationEngine()
	if err != nil {
		return err
	}
	if assignee != nil || team != nil || unassign || clearTeam {
		if _, err := engine.Assign(c, p, conv, assignee, team, unassign, clearTeam); err != nil {
			return err
		}
	}
	if req.Status != nil {
		if _, err := engine.ChangeStatus(c, p, conv, *req.Status); err != nil {
			return err
		}
	}
	if req.LabelIDs != nil {
		if err := engine.SetLabels(c, p, conv, *req.LabelIDs); err != nil {
			return err
		}
	}
	if note != "" {
		if _, err := engine.AddNote(c, p, conv, note); err != nil {
			return err
		}
	}
	// The actor just acted on it: answer even if it left their view (a transfer).
	updated, err := s.db.GetConversation(c, p.TenantID, conv.ID, crm.Visibility{All: true})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, updated)
	return nil
}

// checkReferences makes sure the assignee, team and labels exist in the
// tenant (an active user for the assignee).
func (s *Server) checkReferences(c *gin.Context, tenant uuid.UUID, assignee, team *uuid.UUID, labels *[]uuid.UUID) error {
	refs := persistence.ConversationReferences{Assignee: assignee, Team: team}
	if labels != nil {
		refs.Labels = *labels
	}
	missing, err := s.db.MissingReference(c, tenant, refs)
	switch {
	case err != nil:
		return err
	case missing == "assignee_id":
		return fieldError("assignee_id", "no such active user")
	case missing == "team_id":
		return fieldError("team_id", "no such team")
	case missing == "label_ids":
		return fieldError("label_ids", "some labels do not exist")
	}
	return nil
}

func (s *Server) readConversation(c *gin.Context, p crm.Principal) error {
	conv, err := s.visibleConversation(c, p)
	if err != nil {
		return err
	}
	engine, err := s.conversationEngine()
	if err != nil {
		return err
	}
	if _, err := engine.MarkRead(c, p, conv); err != nil {
		return err
	}
	updated, err := s.db.GetConversation(c, p.TenantID, conv.ID, crm.Visibility{All: true})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, updated)
	return nil
}

func (s *Server) listMessages(c *gin.Context, p crm.Principal) error {
	var q listMessagesQuery
	if err := c.ShouldBindQuery(&q); err != nil {
		return fieldError("query", "malformed query parameters")
	}
	conv, err := s.visibleConversation(c, p)
	if err != nil {
		return err
	}
	if q.Before != "" {
		var before int64
		if q.Before != "latest" {
			if before, err = strconv.ParseInt(q.Before, 10, 64); err != nil || before < 0 {
				return fieldError("before", "must be a sequence number or \"latest\"")
			}
		}
		items, older, err := s.db.LatestMessages(c, p.TenantID, conv.ID, before, q.Limit)
		if err != nil {
			return err
		}
		page := crm.Page[*crm.Message]{Items: items}
		if page.Items == nil {
			page.Items = []*crm.Message{}
		}
		if older > 0 {
			next := strconv.FormatInt(older, 10)
			page.NextCursor = &next // pass as ?before= to go further back
		}
		c.JSON(http.StatusOK, page)
		return nil
	}
	page, err := s.db.ListMessages(c, p.TenantID, conv.ID, q.Cursor, q.Limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

var sendableTypes = map[string]bool{"text": true, "image": true, "audio": true, "video": true, "document": true,
	"sticker": true, "template": true, "location": true, "contacts": true, "reaction": true, "interactive": true}

func (s *Server) sendMessage(c *gin.Context, p crm.Principal) error {
	var req sendMessageRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	var content json.RawMessage
	var err error
	if req.Type == "" {
		req.Type = "text"
	}
	if !sendableTypes[req.Type] {
		fields.Add("type", "must be text, image, audio, video, document, sticker, template, location, contacts, reaction or interactive")
	}
	req.IdempotencyKey = strings.TrimSpace(req.IdempotencyKey)
	if req.IdempotencyKey == "" || len(req.IdempotencyKey) > 200 {
		fields.Add("idempotency_key", "is required (at most 200 characters)")
	}
	switch req.Type {
	case "text":
		if strings.TrimSpace(req.Text) == "" {
			fields.Add("text", "is required")
		} else if p.Signs {
			// Signed here, before the conversation grain sees it: the stored
			// message, the customer's copy and the console's bubble all carry
			// it, and the length limit counts it.
			req.Text = crm.SignedText(p.Name, req.Text)
		}
		if len([]rune(req.Text)) > 4096 {
			fields.Add("text", "must have at most 4096 characters")
		}
	case "template":
		if len(req.Template) == 0 {
			fields.Add("template", "is required")
		}
	case "location":
		if req.Location == nil {
			fields.Add("location", "is required")
		} else if content, err = json.Marshal(req.Location); err != nil {
			return fmt.Errorf("encoding the location: %w", err)
		}
	case "contacts":
		if len(req.Contacts) == 0 {
			fields.Add("contacts", "is required")
		}
		content = req.Contacts
	case "reaction":
		if req.Reaction == nil {
			fields.Add("reaction", "is required")
		} else if content, err = json.Marshal(req.Reaction); err != nil {
			return fmt.Errorf("encoding the reaction: %w", err)
		}
	case "interactive":
		if req.Interactive == nil {
			fields.Add("interactive", "is required")
		} else if content, err = json.Marshal(req.Interactive); err != nil {
			return fmt.Errorf("encoding the interactive content: %w", err)
		}
	default:
		if req.MediaID == nil {
			fields.Add("media_id", "is required")
		}
	}
	if err := fields.Err(); err != nil {
		return err
	}
	if err := s.requireSendable(c, p); err != nil {
		return err
	}
	conv, err := s.visibleConversation(c, p)
	if err != nil {
		return err
	}
	engine, err := s.conversationEngine()
	if err != nil {
		return err
	}
	res, err := engine.Send(c, p, conv, actors.SendInput{Type: req.Type, Text: req.Text, MediaID: req.MediaID,
		Template: req.Template, ReplyToID: req.ReplyToID, IdempotencyKey: req.IdempotencyKey, Content: content})
	if err != nil {
		return err
	}
	messageID, err := uuid.Parse(res.GetMessageId())
	if err != nil {
		return fmt.Errorf("the conversation grain answered a bad message id: %w", err)
	}
	m, err := s.db.MessageByID(c, p.TenantID, messageID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, m)
	return nil
}

// requireSendable refuses sends of a suspended or unlicensed tenant (its
// webhooks are still stored, its sends are held).
func (s *Server) requireSendable(c *gin.Context, p crm.Principal) error {
	if s.cfg.Engine != nil {
		return s.cfg.Engine.MayI(c, p.TenantID, actors.ActionSend)
	}
	return s.cfg.Licenses.SendAllowed(c, s.db, p.TenantID)
}

// refreshTenant tells the tenant's grain to reload after a change made here.
func (s *Server) refreshTenant(c *gin.Context, tenantID uuid.UUID) {
	if s.cfg.Engine != nil {
		s.cfg.Engine.RefreshTenant(c, tenantID)
	}
}

func (s *Server) listNotes(c *gin.Context, p crm.Principal) error {
	conv, err := s.visibleConversation(c, p)
	if err != nil {
		return err
	}
	notes, err := s.db.ListNotes(c, p.TenantID, conv.ID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, notesResponse{Items: notes})
	return nil
}

func (s *Server) addNote(c *gin.Context, p crm.Principal) error {
	var req noteRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	req.Text = strings.TrimSpace(req.Text)
	if req.Text == "" || len([]rune(req.Text)) > 10000 {
		return fieldError("text", "is required (at most 10000 characters)")
	}
	conv, err := s.visibleConversation(c, p)
	if err != nil {
		return err
	}
	engine, err := s.conversationEngine()
	if err != nil {
		return err
	}
	note, err := engine.AddNote(c, p, conv, req.Text)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, note)
	return nil
}
