package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

// Scheduled messages: written now, sent at send_at through the conversation
// grain by a durable job (jobs/scheduled.go), within about a second of it.

type scheduledMessageRequest struct {
	ConversationID *uuid.UUID `json:"conversation_id,omitempty"`
	// ContactID and ConnectionID, without conversation_id: the message goes
	// to the contact's conversation on that connection, or opens one.
	ContactID    *uuid.UUID      `json:"contact_id,omitempty"`
	ConnectionID *uuid.UUID      `json:"connection_id,omitempty"`
	Type         string          `json:"type"` // text (default), template, image, video, audio, document
	Text         string          `json:"text,omitempty"`
	MediaID      *uuid.UUID      `json:"media_id,omitempty"`
	Template     json.RawMessage `json:"template,omitempty"`
	SendAt       time.Time       `json:"send_at" required:"true"`
}

type scheduledMessagePatch struct {
	Type     *string         `json:"type,omitempty"`
	Text     *string         `json:"text,omitempty"`
	MediaID  *uuid.UUID      `json:"media_id,omitempty"`
	Template json.RawMessage `json:"template,omitempty"`
	SendAt   *time.Time      `json:"send_at,omitempty"`
}

type listScheduledQuery struct {
	ConversationID string `form:"conversation_id"`
	ContactID      string `form:"contact_id"`
	Status         string `form:"status"` // pending, sent, cancelled, failed
	Cursor         string `form:"cursor"`
	Limit          int    `form:"limit"`
}

// The longest a message may be scheduled ahead.
const maxScheduleAhead = 366 * 24 * time.Hour

func (s *Server) scheduledMessageRoutes() {
	const tag = "scheduled messages"
	s.route(op{Method: http.MethodGet, Path: "/api/v1/scheduled-messages", Summary: "Scheduled messages, soonest first (?conversation_id=, ?contact_id=, ?status=)",
		Tag: tag, Access: accessTenant, Perm: crm.PermConversationsRead, Query: listScheduledQuery{},
		Response: crm.Page[crm.ScheduledMessage]{}}, s.listScheduledMessages)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/scheduled-messages", Summary: "Schedule a message to a conversation, or to a contact on a connection",
		Tag: tag, Access: accessTenant, Perm: crm.PermMessagesSend, Request: scheduledMessageRequest{},
		Response: crm.ScheduledMessage{}, Status: http.StatusCreated}, s.createScheduledMessage)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/scheduled-messages/:id", Summary: "Change a pending scheduled message (409 not_pending)",
		Tag: tag, Access: accessTenant, Perm: crm.PermMessagesSend, Request: scheduledMessagePatch{},
		Response: crm.ScheduledMessage{}}, s.updateScheduledMessage)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/scheduled-messages/:id", Summary: "Cancel a pending scheduled message (409 not_pending)",
		Tag: tag, Access: accessTenant, Perm: crm.PermMessagesSend, Response: crm.ScheduledMessage{}}, s.cancelScheduledMessage)
}

// checkScheduledContent reports what is wrong with a message to schedule.
func checkScheduledContent(fields crm.FieldErrors, m *crm.ScheduledContent) {
	if m.Type == "" {
		m.Type = "text"
	}
	switch m.Type {
	case "text":
		if strings.TrimSpace(m.Text) == "" {
			fields.Add("text", "is required")
		} else if len([]rune(m.Text)) > 4096 {
			fields.Add("text", "must have at most 4096 characters")
		}
	case "template":
		if len(m.Template) == 0 || !json.Valid(m.Template) {
			fields.Add("template", "is required: {name, language, components?}")
		}
	case "image", "video", "audio", "document":
		if m.MediaID == nil {
			fields.Add("media_id", "is required for %s", m.Type)
		}
		if len([]rune(m.Text)) > 1024 {
			fields.Add("text", "a caption has at most 1024 characters")
		}
	default:
		fields.Add("type", "must be text, template, image, video, audio or document")
	}
}

func checkSendAt(fields crm.FieldErrors, at time.Time, now time.Time) {
	switch {
	case at.IsZero():
		fields.Add("send_at", "is required (RFC 3339)")
	case at.Before(now.Add(-time.Minute)):
		fields.Add("send_at", "must not be in the past")
	case at.After(now.Add(maxScheduleAhead)):
		fields.Add("send_at", "must be within a year")
	}
}

// visibleConversationByID is the conversation if the principal may see it.
func (s *Server) visibleConversationByID(c *gin.Context, p crm.Principal, id uuid.UUID) (*crm.Conversation, error) {
	v, err := s.visibility(c, p)
	if err != nil {
		return nil, err
	}
	return s.db.GetConversation(c, p.TenantID, id, v)
}

func (s *Server) createScheduledMessage(c *gin.Context, p crm.Principal) error {
	var req scheduledMessageRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	content := crm.ScheduledContent{Type: req.Type, Text: req.Text, MediaID: req.MediaID, Template: req.Template}
	fields := crm.FieldErrors{}
	checkScheduledContent(fields, &content)
	checkSendAt(fields, req.SendAt, time.Now())
	if req.ConversationID == nil && (req.ContactID == nil || req.ConnectionID == nil) {
		fields.Add("conversation_id", "is required, or contact_id with connection_id")
	}
	if err := fields.Err(); err != nil {
		return err
	}
	in := persistence.NewScheduledMessage{ConversationID: req.ConversationID, Message: content, SendAt: req.SendAt, CreatedBy: &p.UserID}
	if req.ConversationID != nil {
		if _, err := s.visibleConversationByID(c, p, *req.ConversationID); err != nil {
			return err
		}
	} else {
		in.ContactID, in.ConnectionID = *req.ContactID, *req.ConnectionID
	}
	m, err := s.db.CreateScheduledMessage(c, p.TenantID, in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, m)
	return nil
}

func (s *Server) listScheduledMessages(c *gin.Context, p crm.Principal) error {
	var q listScheduledQuery
	if err := c.ShouldBindQuery(&q); err != nil {
		return fieldError("query", "malformed query parameters")
	}
	f := persistence.ScheduledFilter{Status: q.Status, Cursor: q.Cursor, Limit: q.Limit}
	var err error
	if f.ConversationID, err = optionalID("conversation_id", q.ConversationID); err != nil {
		return err
	}
	if f.ContactID, err = optionalID("contact_id", q.ContactID); err != nil {
		return err
	}
	switch q.Status {
	case "", "pending", "sent", "cancelled", "failed":
	default:
		return fieldError("status", "must be pending, sent, cancelled or failed")
	}
	if f.ConversationID != nil {
		if _, err := s.visibleConversationByID(c, p, *f.ConversationID); err != nil {
			return err
		}
	} else if !p.Role.Can(crm.PermConversationsAll) {
		f.CreatedBy = &p.UserID // beyond a conversation they see: the ones they wrote
	}
	page, err := s.db.ListScheduledMessages(c, p.TenantID, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

// visibleScheduled is the scheduled message of the path if the principal
// may see it: its conversation is visible to them, or they wrote it, or
// they see every conversation.
func (s *Server) visibleScheduled(c *gin.Context, p crm.Principal) (crm.ScheduledMessage, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return crm.ScheduledMessage{}, err
	}
	m, err := s.db.GetScheduledMessage(c, p.TenantID, id)
	if err != nil || p.Role.Can(crm.PermConversationsAll) || (m.CreatedBy != nil && *m.CreatedBy == p.UserID) {
		return m, err
	}
	if m.ConversationID != nil {
		if _, err := s.visibleConversationByID(c, p, *m.ConversationID); err == nil {
			return m, nil
		}
	}
	return crm.ScheduledMessage{}, crm.NotFound("scheduled message")
}

func (s *Server) updateScheduledMessage(c *gin.Context, p crm.Principal) error {
	cur, err := s.visibleScheduled(c, p)
	if err != nil {
		return err
	}
	id := cur.ID
	var req scheduledMessagePatch
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	patch := persistence.ScheduledPatch{SendAt: req.SendAt}
	fields := crm.FieldErrors{}
	if req.Type != nil || req.Text != nil || req.MediaID != nil || req.Template != nil {
		content := cur.Message
		if req.Type != nil {
			content = crm.ScheduledContent{Type: *req.Type, Text: content.Text}
		}
		if req.Text != nil {
			content.Text = *req.Text
		}
		if req.MediaID != nil {
			content.MediaID = req.MediaID
		}
		if req.Template != nil {
			content.Template = req.Template
		}
		checkScheduledContent(fields, &content)
		patch.Message = &content
	}
	if req.SendAt != nil {
		checkSendAt(fields, *req.SendAt, time.Now())
	}
	if err := fields.Err(); err != nil {
		return err
	}
	m, err := s.db.UpdateScheduledMessage(c, p.TenantID, id, patch)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, m)
	return nil
}

func (s *Server) cancelScheduledMessage(c *gin.Context, p crm.Principal) error {
	cur, err := s.visibleScheduled(c, p)
	if err != nil {
		return err
	}
	m, err := s.db.CancelScheduledMessage(c, p.TenantID, cur.ID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, m)
	return nil
}
