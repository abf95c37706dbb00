package httpapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

type createQuickReplyRequest struct {
	Shortcut string     `json:"shortcut" required:"true"` // a leading "/" is accepted and dropped
	Title    string     `json:"title" required:"true"`
	Text     string     `json:"text"` // required unless media_id is given
	MediaID  *uuid.UUID `json:"media_id"`
}

// updateQuickReplyRequest: only the fields present change; "media_id": null
// removes the media (so it is decoded by hand, to tell null from absent).
type updateQuickReplyRequest struct {
	Shortcut *string         `json:"shortcut"`
	Title    *string         `json:"title"`
	Text     *string         `json:"text"`
	MediaID  json.RawMessage `json:"media_id"`
}

type listQuickRepliesQuery struct {
	Cursor string `form:"cursor"`
	Limit  int    `form:"limit"`
	Q      string `form:"q"` // shortcut prefix ("/" optional) or words of the title
}

var quickReplyShortcutPattern = regexp.MustCompile(`^[a-z0-9_-]{1,40}$`)

const quickReplyTextMax = 4096

func (s *Server) quickReplyRoutes() {
	s.route(op{Method: http.MethodGet, Path: "/api/v1/quick-replies", Summary: "List quick replies (q: shortcut prefix or title)",
		Tag: "quick-replies", Access: accessTenant, Perm: crm.PermQuickRepliesRead, Query: listQuickRepliesQuery{},
		Response: crm.Page[persistence.QuickReply]{}}, s.listQuickReplies)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/quick-replies", Summary: "Create a quick reply", Tag: "quick-replies",
		Access: accessTenant, Perm: crm.PermQuickRepliesWrite, Request: createQuickReplyRequest{},
		Response: persistence.QuickReply{}, Status: http.StatusCreated}, s.createQuickReply)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/quick-replies/:id", Summary: "Get a quick reply", Tag: "quick-replies",
		Access: accessTenant, Perm: crm.PermQuickRepliesRead, Response: persistence.QuickReply{}}, s.getQuickReply)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/quick-replies/:id", Summary: "Update a quick reply (only the fields given; media_id null removes the media)",
		Tag: "quick-replies", Access: accessTenant, Perm: crm.PermQuickRepliesWrite, Request: updateQuickReplyRequest{},
		Response: persistence.QuickReply{}}, s.updateQuickReply)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/quick-replies/:id", Summary: "Delete a quick reply", Tag: "quick-replies",
		Access: accessTenant, Perm: crm.PermQuickRepliesWrite, Status: http.StatusNoContent}, s.deleteQuickReply)
}

// quickReplyShortcut drops a leading "/", lower-cases and checks the shortcut.
func quickReplyShortcut(fields crm.FieldErrors, raw string) string {
	shortcut := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(raw), "/"))
	if !quickReplyShortcutPattern.MatchString(shortcut) {
		fields.Add("shortcut", "must be 1 to 40 of a-z, 0-9, _ and -")
	}
	return shortcut
}

// quickReplyText keeps the text as written (line breaks matter) and checks it.
func quickReplyText(fields crm.FieldErrors, text string) string {
	if utf8.RuneCountInString(text) > quickReplyTextMax {
		fields.Add("text", "must have at most %d characters", quickReplyTextMax)
	} else if strings.ContainsRune(text, 0) {
		fields.Add("text", "must be valid text")
	}
	return text
}

func (s *Server) listQuickReplies(c *gin.Context, p crm.Principal) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := s.db.ListQuickReplies(c, p.TenantID, persistence.QuickReplyFilter{Cursor: c.Query("cursor"), Limit: limit,
		Q: directoryQuery(c)})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) createQuickReply(c *gin.Context, p crm.Principal) error {
	var req createQuickReplyRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	in := persistence.NewQuickReply{
		Shortcut: quickReplyShortcut(fields, req.Shortcut),
		Title:    directoryText(fields, "title", req.Title, 1, 120),
		Text:     quickReplyText(fields, req.Text),
		MediaID:  req.MediaID,
	}
	if err := fields.Err(); err != nil {
		return err
	}
	q, ev, err := s.db.CreateQuickReply(c, p.TenantID, directoryActor(c, p), in)
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusCreated, q)
	return nil
}

func (s *Server) getQuickReply(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	q, err := s.db.GetQuickReply(c, p.TenantID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, q)
	return nil
}

func (s *Server) updateQuickReply(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateQuickReplyRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	var patch persistence.QuickReplyPatch
	if req.Shortcut != nil {
		shortcut := quickReplyShortcut(fields, *req.Shortcut)
		patch.Shortcut = &shortcut
	}
	if req.Title != nil {
		title := directoryText(fields, "title", *req.Title, 1, 120)
		patch.Title = &title
	}
	if req.Text != nil {
		text := quickReplyText(fields, *req.Text)
		patch.Text = &text
	}
	if len(req.MediaID) > 0 {
		patch.SetMediaID = true
		if string(req.MediaID) != "null" {
			var mediaID uuid.UUID
			if err := json.Unmarshal(req.MediaID, &mediaID); err != nil {
				fields.Add("media_id", "must be a UUID or null")
			}
			patch.MediaID = &mediaID
		}
	}
	if err := fields.Err(); err != nil {
		return err
	}
	q, ev, err := s.db.UpdateQuickReply(c, p.TenantID, id, directoryActor(c, p), patch)
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusOK, q)
	return nil
}

func (s *Server) deleteQuickReply(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ev, err := s.db.DeleteQuickReply(c, p.TenantID, id, directoryActor(c, p))
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.Status(http.StatusNoContent)
	return nil
}
