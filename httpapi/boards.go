package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

// Kanban routes. The plan's kanban feature gates every one. Boards and
// columns are supervisors' and admins' to shape (boards:manage); everyone
// moves and edits cards (boards:write). Every change is a tenant event
// (board.*, column.*, card.*), so other consoles update without a reload.

const kanbanFeature = "kanban"

type columnRequest struct {
	Name  string `json:"name" required:"true"`
	Color string `json:"color"` // #rrggbb, default #64748b
	Kind  string `json:"kind"`  // open (default), won or lost
}

type createBoardRequest struct {
	Name        string          `json:"name" required:"true"`
	Description string          `json:"description"`
	Columns     []columnRequest `json:"columns"` // none: Novo, Em negociação, Proposta enviada, Ganho, Perdido
}

type updateBoardRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

type updateColumnRequest struct {
	Name     *string `json:"name"`
	Color    *string `json:"color"`
	Kind     *string `json:"kind"`
	Position *int    `json:"position"` // 0 first
}

type createCardRequest struct {
	BoardID        uuid.UUID   `json:"board_id" required:"true"`
	ColumnID       *uuid.UUID  `json:"column_id"` // default the board's first column
	Title          string      `json:"title" required:"true"`
	Description    string      `json:"description"`
	Value          string      `json:"value"` // BRL as a decimal string, "1234.50"
	DueAt          *time.Time  `json:"due_at"`
	ContactID      *uuid.UUID  `json:"contact_id"`
	ConversationID *uuid.UUID  `json:"conversation_id"` // its contact becomes the card's when none is given
	AssigneeID     *uuid.UUID  `json:"assignee_id"`
	LabelIDs       []uuid.UUID `json:"label_ids"`
}

// updateCardRequest: only the fields present change; null clears due_at,
// contact_id, conversation_id and assignee_id. column_id moves the card,
// before before_id or after after_id (both absent: the column's end).
type updateCardRequest struct {
	Title          *string          `json:"title"`
	Description    *string          `json:"description"`
	Value          *string          `json:"value"`
	DueAt          *json.RawMessage `json:"due_at"`
	ContactID      *json.RawMessage `json:"contact_id"`
	ConversationID *json.RawMessage `json:"conversation_id"`
	AssigneeID     *json.RawMessage `json:"assignee_id"`
	LabelIDs       *[]uuid.UUID     `json:"label_ids"`
	ColumnID       *uuid.UUID       `json:"column_id"`
	BeforeID       *uuid.UUID       `json:"before_id"`
	AfterID        *uuid.UUID       `json:"after_id"`
}

type boardQuery struct {
	AssigneeID string `form:"assignee_id"` // a user id, "me" or "none"
	LabelID    string `form:"label_id"`
	DueBefore  string `form:"due_before"` // RFC 3339
	DueAfter   string `form:"due_after"`
}

type cardsQuery struct {
	ContactID string `form:"contact_id"` // a contact's cards; absent: the caller's own (assigned to them)
}

type boardsResponse struct {
	Items []persistence.Board `json:"items"`
}

type cardsResponse struct {
	Items []persistence.Card `json:"items"`
}

func (s *Server) boardRoutes() {
	// Columns and cards first: the authorization matrix deletes in this
	// order, a column and a card before their board.
	s.route(op{Method: http.MethodPost, Path: "/api/v1/boards/:id/columns", Summary: "Add a column at the board's end", Tag: "kanban",
		Access: accessTenant, Perm: crm.PermBoardsManage, Request: columnRequest{}, Response: persistence.BoardColumn{},
		Status: http.StatusCreated}, s.createColumn)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/columns/:id", Summary: "Change or move a column", Tag: "kanban",
		Access: accessTenant, Perm: crm.PermBoardsManage, Request: updateColumnRequest{}, Response: persistence.BoardColumn{}}, s.updateColumn)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/columns/:id", Summary: "Delete an empty column (409 column_not_empty)",
		Tag: "kanban", Access: accessTenant, Perm: crm.PermBoardsManage, Status: http.StatusNoContent}, s.deleteColumn)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/cards", Summary: "Create a card at the end of a column", Tag: "kanban",
		Access: accessTenant, Perm: crm.PermBoardsWrite, Request: createCardRequest{}, Response: persistence.Card{},
		Status: http.StatusCreated}, s.createCard)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/cards", Summary: "A contact's cards on every board (?contact_id=), or your own", Tag: "kanban",
		Access: accessTenant, Perm: crm.PermBoardsRead, Query: cardsQuery{}, Response: cardsResponse{}}, s.contactCards)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/cards/:id", Summary: "Get a card", Tag: "kanban",
		Access: accessTenant, Perm: crm.PermBoardsRead, Response: persistence.Card{}}, s.getCard)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/cards/:id",
		Summary: "Edit a card (only the fields given) or move it: {column_id, before_id | after_id}",
		Tag:     "kanban", Access: accessTenant, Perm: crm.PermBoardsWrite, Request: updateCardRequest{}, Response: persistence.Card{}}, s.updateCard)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/cards/:id", Summary: "Delete a card", Tag: "kanban",
		Access: accessTenant, Perm: crm.PermBoardsWrite, Status: http.StatusNoContent}, s.deleteCard)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/boards", Summary: "List Kanban boards", Tag: "kanban",
		Access: accessTenant, Perm: crm.PermBoardsRead, Response: boardsResponse{}}, s.listBoards)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/boards", Summary: "Create a board with its columns", Tag: "kanban",
		Access: accessTenant, Perm: crm.PermBoardsManage, Request: createBoardRequest{}, Response: persistence.Board{},
		Status: http.StatusCreated}, s.createBoard)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/boards/:id",
		Summary: "A board with its columns (count and BRL total of the cards shown) and cards, filtered by assignee, label and due date",
		Tag:     "kanban", Access: accessTenant, Perm: crm.PermBoardsRead, Query: boardQuery{}, Response: persistence.Board{}}, s.getBoard)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/boards/:id", Summary: "Rename a board", Tag: "kanban",
		Access: accessTenant, Perm: crm.PermBoardsManage, Request: updateBoardRequest{}, Response: persistence.Board{}}, s.updateBoard)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/boards/:id", Summary: "Delete a board with its cards", Tag: "kanban",
		Access: accessTenant, Perm: crm.PermBoardsManage, Status: http.StatusNoContent}, s.deleteBoard)
}

var brlPattern = regexp.MustCompile(`^\d{1,10}(\.\d{1,2})?$`)

// cardValue checks a BRL amount: a decimal string with up to two places
// (never a float: it is summed exactly in SQL).
func cardValue(fields crm.FieldErrors, raw string) string {
	v := strings.TrimSpace(raw)
	if !brlPattern.MatchString(v) {
		fields.Add("value", "must be an amount in BRL such as \"1234.50\" (a string, at most 2 decimals)")
	}
	return v
}

func columnFields(fields crm.FieldErrors, prefix string, in columnRequest) persistence.NewColumn {
	out := persistence.NewColumn{Name: directoryText(fields, prefix+"name", in.Name, 1, 120), Color: persistence.DefaultLabelColor, Kind: "open"}
	if in.Color != "" {
		c := strings.ToLower(strings.TrimSpace(in.Color))
		if !labelColorPattern.MatchString(c) {
			fields.Add(prefix+"color", "must be a hex color like #64748b")
		}
		out.Color = c
	}
	if in.Kind != "" {
		if !slices.Contains(persistence.ColumnKinds, in.Kind) {
			fields.Add(prefix+"kind", "must be open, won or lost")
		}
		out.Kind = in.Kind
	}
	return out
}

func (s *Server) listBoards(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, kanbanFeature); err != nil {
		return err
	}
	boards, err := s.db.ListBoards(c, p.TenantID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, boardsResponse{Items: boards})
	return nil
}

func (s *Server) createBoard(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, kanbanFeature); err != nil {
		return err
	}
	var req createBoardRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	name := directoryText(fields, "name", req.Name, 1, 120)
	description := directoryText(fields, "description", req.Description, 0, 1000)
	if len(req.Columns) > 30 {
		fields.Add("columns", "must have at most 30 columns")
	}
	var columns []persistence.NewColumn
	for i, col := range req.Columns {
		columns = append(columns, columnFields(fields, fmt.Sprintf("columns[%d].", i), col))
	}
	if err := fields.Err(); err != nil {
		return err
	}
	b, ev, err := s.db.CreateBoard(c, p.TenantID, directoryActor(c, p), name, description, columns)
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusCreated, b)
	return nil
}

func (s *Server) getBoard(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, kanbanFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var q boardQuery
	if err := c.ShouldBindQuery(&q); err != nil {
		return fieldError("query", "malformed query parameters")
	}
	var f persistence.CardFilter
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
	if f.LabelID, err = optionalID("label_id", q.LabelID); err != nil {
		return err
	}
	for _, t := range []struct {
		field, raw string
		dst        **time.Time
	}{{"due_before", q.DueBefore, &f.DueBefore}, {"due_after", q.DueAfter, &f.DueAfter}} {
		if t.raw == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339, t.raw)
		if err != nil {
			return fieldError(t.field, "must be an RFC 3339 time")
		}
		*t.dst = &at
	}
	b, err := s.db.GetBoard(c, p.TenantID, id, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, b)
	return nil
}

func (s *Server) updateBoard(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, kanbanFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateBoardRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	if req.Name != nil {
		n := directoryText(fields, "name", *req.Name, 1, 120)
		req.Name = &n
	}
	if req.Description != nil {
		d := directoryText(fields, "description", *req.Description, 0, 1000)
		req.Description = &d
	}
	if err := fields.Err(); err != nil {
		return err
	}
	b, ev, err := s.db.UpdateBoard(c, p.TenantID, id, directoryActor(c, p), req.Name, req.Description)
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusOK, b)
	return nil
}

func (s *Server) deleteBoard(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, kanbanFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ev, err := s.db.DeleteBoard(c, p.TenantID, id, directoryActor(c, p))
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) createColumn(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, kanbanFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req columnRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	in := columnFields(fields, "", req)
	if err := fields.Err(); err != nil {
		return err
	}
	col, ev, err := s.db.CreateColumn(c, p.TenantID, id, directoryActor(c, p), in)
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusCreated, col)
	return nil
}

func (s *Server) updateColumn(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, kanbanFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateColumnRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	patch := persistence.ColumnPatch{Position: req.Position}
	full := columnRequest{Name: "x", Color: "", Kind: ""}
	if req.Name != nil {
		full.Name = *req.Name
	}
	if req.Color != nil {
		full.Color = *req.Color
		if full.Color == "" {
			fields.Add("color", "must be a hex color like #64748b")
		}
	}
	if req.Kind != nil {
		full.Kind = *req.Kind
		if full.Kind == "" {
			fields.Add("kind", "must be open, won or lost")
		}
	}
	checked := columnFields(fields, "", full)
	if req.Name != nil {
		patch.Name = &checked.Name
	}
	if req.Color != nil {
		patch.Color = &checked.Color
	}
	if req.Kind != nil {
		patch.Kind = &checked.Kind
	}
	if req.Position != nil && (*req.Position < 0 || *req.Position > 1000) {
		fields.Add("position", "must be between 0 and 1000")
	}
	if err := fields.Err(); err != nil {
		return err
	}
	col, ev, err := s.db.UpdateColumn(c, p.TenantID, id, directoryActor(c, p), patch)
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusOK, col)
	return nil
}

func (s *Server) deleteColumn(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, kanbanFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ev, err := s.db.DeleteColumn(c, p.TenantID, id, directoryActor(c, p))
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) createCard(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, kanbanFeature); err != nil {
		return err
	}
	var req createCardRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	in := persistence.NewCard{BoardID: req.BoardID, ColumnID: req.ColumnID, DueAt: req.DueAt, ContactID: req.ContactID,
		ConversationID: req.ConversationID, AssigneeID: req.AssigneeID, LabelIDs: req.LabelIDs,
		Title:       directoryText(fields, "title", req.Title, 1, 200),
		Description: directoryText(fields, "description", req.Description, 0, 10000)}
	if req.Value != "" {
		in.Value = cardValue(fields, req.Value)
	}
	if len(in.LabelIDs) > 50 {
		fields.Add("label_ids", "must have at most 50 labels")
	}
	if err := fields.Err(); err != nil {
		return err
	}
	card, ev, err := s.db.CreateCard(c, p.TenantID, directoryActor(c, p), in)
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusCreated, card)
	return nil
}

func (s *Server) contactCards(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, kanbanFeature); err != nil {
		return err
	}
	contact, err := optionalID("contact_id", c.Query("contact_id"))
	if err != nil {
		return err
	}
	var cards []persistence.Card
	if contact == nil {
		cards, err = s.db.AssignedCards(c, p.TenantID, p.UserID)
	} else {
		cards, err = s.db.ContactCards(c, p.TenantID, *contact)
	}
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, cardsResponse{Items: cards})
	return nil
}

func (s *Server) getCard(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, kanbanFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	card, err := s.db.GetCard(c, p.TenantID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, card)
	return nil
}

func (s *Server) updateCard(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, kanbanFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateCardRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	patch := persistence.CardPatch{LabelIDs: req.LabelIDs}
	if req.Title != nil {
		t := directoryText(fields, "title", *req.Title, 1, 200)
		patch.Title = &t
	}
	if req.Description != nil {
		d := directoryText(fields, "description", *req.Description, 0, 10000)
		patch.Description = &d
	}
	if req.Value != nil {
		v := cardValue(fields, *req.Value)
		patch.Value = &v
	}
	if req.DueAt != nil {
		if string(*req.DueAt) == "null" {
			patch.ClearDue = true
		} else {
			var at time.Time
			if err := json.Unmarshal(*req.DueAt, &at); err != nil {
				fields.Add("due_at", "must be an RFC 3339 time or null")
			} else {
				patch.DueAt = &at
			}
		}
	}
	for _, r := range []struct {
		field string
		raw   *json.RawMessage
		dst   **uuid.UUID
		clear *bool
	}{{"contact_id", req.ContactID, &patch.ContactID, &patch.ClearContact},
		{"conversation_id", req.ConversationID, &patch.ConversationID, &patch.ClearConversation},
		{"assignee_id", req.AssigneeID, &patch.AssigneeID, &patch.ClearAssignee}} {
		id, clear, err := rawID(r.field, r.raw)
		if err != nil {
			return err
		}
		*r.dst, *r.clear = id, clear
	}
	if req.BeforeID != nil && req.AfterID != nil {
		fields.Add("before_id", "give before_id or after_id, not both")
	}
	if (req.BeforeID != nil || req.AfterID != nil) && req.ColumnID == nil {
		fields.Add("column_id", "is required to move a card")
	}
	if req.ColumnID != nil {
		patch.Move = &persistence.CardMove{ColumnID: *req.ColumnID, BeforeID: req.BeforeID, AfterID: req.AfterID}
	}
	if req.LabelIDs != nil && len(*req.LabelIDs) > 50 {
		fields.Add("label_ids", "must have at most 50 labels")
	}
	if err := fields.Err(); err != nil {
		return err
	}
	card, ev, err := s.db.UpdateCard(c, p.TenantID, id, directoryActor(c, p), patch)
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusOK, card)
	return nil
}

func (s *Server) deleteCard(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, kanbanFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ev, err := s.db.DeleteCard(c, p.TenantID, id, directoryActor(c, p))
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.Status(http.StatusNoContent)
	return nil
}
