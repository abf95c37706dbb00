package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"crm"
	"crm/actors"
	"crm/persistence"
)

// DeadLetter is an inbox event that failed for good, as its admins see it.
type DeadLetter struct {
	persistence.DeadLetter
	actors.InboxEventSummary
}

type listDeadLettersQuery struct {
	Cursor string `form:"cursor"`
	Limit  int    `form:"limit"`
}

type retryDeadLetterResponse struct {
	ID     string `json:"id"`
	Status string `json:"status"` // pending: back in the inbox, the next sweep takes it
}

func (s *Server) deadLetterRoutes() {
	s.route(op{Method: http.MethodGet, Path: "/api/v1/inbox/dead-letters",
		Summary: "Inbox events that failed processing CRM_INBOX_MAX_ATTEMPTS times and are no longer retried, most recent first",
		Tag:     "inbox", Access: accessTenant, Perm: crm.PermInboxManage, Query: listDeadLettersQuery{},
		Response: crm.Page[DeadLetter]{}}, s.listDeadLetters)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/inbox/dead-letters/:id/retry",
		Summary: "Put a dead letter back in the inbox as a pending event with no failed attempts",
		Tag:     "inbox", Access: accessTenant, Perm: crm.PermInboxManage, Response: retryDeadLetterResponse{},
		Status: http.StatusAccepted}, s.retryDeadLetter)
}

func (s *Server) listDeadLetters(c *gin.Context, p crm.Principal) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := s.db.ListDeadLetters(c, p.TenantID, c.Query("cursor"), limit)
	if err != nil {
		return err
	}
	out := crm.Page[DeadLetter]{Items: make([]DeadLetter, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, d := range page.Items {
		out.Items = append(out.Items, DeadLetter{DeadLetter: d, InboxEventSummary: actors.SummarizeInboxEvent(d.Event, d.PayloadJSON)})
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) retryDeadLetter(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := s.db.RetryDeadLetter(c, p.TenantID, id, persistence.AuditEntry{Actor: p, IP: c.ClientIP()}); err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, retryDeadLetterResponse{ID: id.String(), Status: "pending"})
	return nil
}
