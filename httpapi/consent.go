package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"crm"
)

// A contact's consent to marketing, as a person records it: opted in again
// (the customer asked, with a note saying how) or out. Keywords and
// WhatsApp's 131050 opt out on their own (actors/consent.go).

type consentRequest struct {
	OptedOut *bool  `json:"opted_out" required:"true"`
	Note     string `json:"note" required:"true"` // how the contact said so; kept in the audit log
}

type consentResponse struct {
	OptedOut bool `json:"opted_out"`
	Changed  bool `json:"changed"`
}

func (s *Server) consentRoutes() {
	s.route(op{Method: http.MethodPost, Path: "/api/v1/contacts/:id/consent", Summary: "Record a contact's marketing consent (opted in again, or out) with a note, in the audit log",
		Tag: "contacts", Access: accessTenant, Perm: crm.PermContactsWrite, Request: consentRequest{}, Response: consentResponse{}}, s.recordConsent)
}

func (s *Server) recordConsent(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req consentRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	note := directoryText(fields, "note", req.Note, 1, 500)
	if req.OptedOut == nil {
		fields.Add("opted_out", "is required")
	}
	if err := fields.Err(); err != nil {
		return err
	}
	changed, err := s.db.SetContactConsent(c, p.TenantID, id, directoryActor(c, p), *req.OptedOut, note)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, consentResponse{OptedOut: *req.OptedOut, Changed: changed})
	return nil
}
