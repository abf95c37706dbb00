package httpapi

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/channels"
	"crm/persistence"
)

// Campaigns (issue 17): bulk sends to a segment, paced on one connection by
// the engine (actors/campaign.go). The plan's campaigns feature gates every
// route; its monthly_campaigns limit applies at start.

const campaignFeature = "campaigns"

// campaignRequest is a campaign as a person writes it. In a PATCH only the
// fields present change.
type campaignRequest struct {
	Name          *string                  `json:"name,omitempty"`
	ConnectionID  *uuid.UUID               `json:"connection_id,omitempty"`
	Message       *crm.ScheduledContent    `json:"message,omitempty"`
	Audience      *crm.Audience            `json:"audience,omitempty"`
	ScheduledAt   nullable[time.Time]      `json:"scheduled_at,omitempty"`
	RatePerMinute *int                     `json:"rate_per_minute,omitempty"`
	JitterPct     *int                     `json:"jitter_pct,omitempty"`
	QuietHours    nullable[crm.QuietHours] `json:"quiet_hours,omitempty"`
}

// nullable is a JSON field that may be absent (unchanged), null (cleared)
// or a value.
type nullable[T any] struct {
	Set   bool
	Value *T
}

func (nullable[T]) schemaType() reflect.Type { return reflect.TypeOf((*T)(nil)) }

func (n *nullable[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	n.Value = &v
	return nil
}

type audiencePreviewRequest struct {
	ConnectionID uuid.UUID    `json:"connection_id" required:"true"`
	Audience     crm.Audience `json:"audience"`
}

type listCampaignsQuery struct {
	Status string `form:"status"`
	Cursor string `form:"cursor"`
	Limit  int    `form:"limit"`
}

type recipientsQuery struct {
	Status string `form:"status"` // pending, sent, delivered, read, failed, skipped
	Cursor string `form:"cursor"`
	Limit  int    `form:"limit"`
}

type activityQuery struct {
	Bucket string `form:"bucket"` // minute (default) or hour
}

type campaignActivity struct {
	Bucket string                      `json:"bucket"`
	Points []persistence.ActivityPoint `json:"points"`
}

var campaignStartErrors = []opError{
	{Status: http.StatusUnprocessableEntity, Code: "template_required", Summary: "A WhatsApp campaign reaches contacts outside the 24-hour window: only an approved template may be sent"},
	{Status: http.StatusUnprocessableEntity, Code: "template_not_approved", Summary: "The template is not an approved template of the connection"},
	{Status: http.StatusUnprocessableEntity, Code: "empty_audience", Summary: "No contact of the audience can receive the campaign"},
	{Status: http.StatusPaymentRequired, Code: "plan_limit", Summary: "The plan's monthly campaigns are used up"},
	{Status: http.StatusConflict, Code: "invalid_transition", Summary: "The campaign's status does not allow this"},
}

func (s *Server) campaignRoutes() {
	const tag = "campaigns"
	read, write := crm.PermCampaignsRead, crm.PermCampaignsWrite
	s.route(op{Method: http.MethodGet, Path: "/api/v1/campaigns", Summary: "Campaigns, newest first, with their stats (?status=)",
		Tag: tag, Access: accessTenant, Perm: read, Query: listCampaignsQuery{}, Response: crm.Page[crm.Campaign]{}}, s.listCampaigns)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/campaigns", Summary: "Write a campaign (a draft)",
		Tag: tag, Access: accessTenant, Perm: write, Request: campaignRequest{}, Response: crm.Campaign{}, Status: http.StatusCreated}, s.createCampaign)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/campaigns/audience-preview", Summary: "Count an audience on a connection: who would receive it, who would be skipped and why, a few of them",
		Tag: tag, Access: accessTenant, Perm: read, Request: audiencePreviewRequest{}, Response: persistence.AudiencePreview{}}, s.previewCampaignAudience)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/campaigns/:id", Summary: "A campaign with its stats and progress",
		Tag: tag, Access: accessTenant, Perm: read, Response: crm.Campaign{}}, s.getCampaign)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/campaigns/:id", Summary: "Change a draft or scheduled campaign (409 campaign_not_editable)",
		Tag: tag, Access: accessTenant, Perm: write, Request: campaignRequest{}, Response: crm.Campaign{}}, s.updateCampaign)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/campaigns/:id", Summary: "Delete a campaign that is not running or paused (409 campaign_running)",
		Tag: tag, Access: accessTenant, Perm: write, Status: http.StatusNoContent}, s.deleteCampaign)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/campaigns/:id/start", Summary: "Start a draft: it runs now, or is scheduled for its time",
		Tag: tag, Access: accessTenant, Perm: write, Response: crm.Campaign{}, Errors: campaignStartErrors}, s.startCampaign)
	for _, m := range []struct{ action, summary string }{
		{"pause", "Pause a running campaign"},
		{"resume", "Resume a paused campaign"},
		{"cancel", "Cancel a scheduled, running or paused campaign (its recipients not yet sent are skipped)"},
	} {
		s.route(op{Method: http.MethodPost, Path: "/api/v1/campaigns/:id/" + m.action, Summary: m.summary, Tag: tag, Access: accessTenant,
			Perm: write, Response: crm.Campaign{}, Errors: []opError{{Status: http.StatusConflict, Code: "invalid_transition",
				Summary: "The campaign's status does not allow this"}}}, s.moveCampaign(m.action))
	}
	s.route(op{Method: http.MethodGet, Path: "/api/v1/campaigns/:id/recipients", Summary: "A campaign's recipients in send order (?status=)",
		Tag: tag, Access: accessTenant, Perm: read, Query: recipientsQuery{}, Response: crm.Page[crm.CampaignRecipient]{}}, s.listCampaignRecipients)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/campaigns/:id/recipients.csv", Summary: "Export a campaign's recipients as CSV (?status=)",
		Tag: tag, Access: accessTenant, Perm: read, Query: recipientsQuery{}, Raw: "text/csv"}, s.exportCampaignRecipients)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/campaigns/:id/activity", Summary: "A campaign's sends, deliveries, reads and failures per minute or hour (?bucket=)",
		Tag: tag, Access: accessTenant, Perm: read, Query: activityQuery{}, Response: campaignActivity{}}, s.campaignActivity)
}

// campaignFields checks a request over the fields it starts from (a new
// campaign's defaults, or the stored one's).
func campaignFields(req campaignRequest, f *persistence.CampaignFields, creating bool, now time.Time) error {
	fields := crm.FieldErrors{}
	if req.Name != nil {
		f.Name = strings.TrimSpace(*req.Name)
	}
	if creating || req.Name != nil {
		if n := len([]rune(f.Name)); n == 0 || n > 120 {
			fields.Add("name", "is required, at most 120 characters")
		}
	}
	if req.ConnectionID != nil {
		f.ConnectionID = *req.ConnectionID
	} else if creating {
		fields.Add("connection_id", "is required")
	}
	if req.Message != nil {
		f.Message = *req.Message
	}
	if creating || req.Message != nil {
		if req.Message == nil && creating {
			fields.Add("message", "is required")
		} else {
			msgFields := crm.FieldErrors{}
			checkScheduledContent(msgFields, &f.Message)
			for k, v := range msgFields {
				fields.Add("message."+k, "%s", v)
			}
		}
	}
	if req.Audience != nil {
		f.Audience = *req.Audience
	}
	for k := range f.Audience.CustomFields {
		if strings.TrimSpace(k) == "" {
			fields.Add("audience.custom_fields", "a field name is empty")
		}
	}
	if req.ScheduledAt.Set {
		f.ScheduledAt = req.ScheduledAt.Value
		if at := f.ScheduledAt; at != nil {
			if at.Before(now.Add(-time.Minute)) {
				fields.Add("scheduled_at", "must not be in the past")
			} else if at.After(now.Add(maxScheduleAhead)) {
				fields.Add("scheduled_at", "must be within a year")
			}
		}
	}
	if req.RatePerMinute != nil {
		f.RatePerMinute = *req.RatePerMinute
	}
	if f.RatePerMinute < 1 || f.RatePerMinute > 60000 {
		fields.Add("rate_per_minute", "must be between 1 and 60000 (1,000 a second)")
	}
	if req.JitterPct != nil {
		f.JitterPct = *req.JitterPct
	}
	if f.JitterPct < 0 || f.JitterPct > 50 {
		fields.Add("jitter_pct", "must be between 0 and 50")
	}
	if req.QuietHours.Set {
		f.QuietHours = req.QuietHours.Value
	}
	if q := f.QuietHours; q != nil {
		if q.Timezone == "" {
			q.Timezone = "America/Sao_Paulo"
		}
		q.Check(fields, "quiet_hours")
	}
	return fields.Err()
}

func (s *Server) listCampaigns(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, campaignFeature); err != nil {
		return err
	}
	var q listCampaignsQuery
	if err := c.ShouldBindQuery(&q); err != nil {
		return fieldError("query", "malformed query parameters")
	}
	switch q.Status {
	case "", crm.CampaignDraft, crm.CampaignScheduled, crm.CampaignRunning, crm.CampaignPaused, crm.CampaignCompleted,
		crm.CampaignCancelled, crm.CampaignFailed:
	default:
		return fieldError("status", "must be draft, scheduled, running, paused, completed, cancelled or failed")
	}
	page, err := s.db.ListCampaigns(c, p.TenantID, persistence.CampaignFilter{Status: q.Status, Cursor: q.Cursor, Limit: q.Limit})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) createCampaign(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, campaignFeature); err != nil {
		return err
	}
	var req campaignRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	f := persistence.CampaignFields{RatePerMinute: 20}
	if err := campaignFields(req, &f, true, s.now()); err != nil {
		return err
	}
	out, ev, err := s.db.CreateCampaign(c, p.TenantID, platformActor(c, p), f)
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusCreated, out)
	return nil
}

func (s *Server) getCampaign(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, campaignFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.db.GetCampaign(c, p.TenantID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) updateCampaign(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, campaignFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req campaignRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	now := s.now()
	out, ev, err := s.db.UpdateCampaign(c, p.TenantID, id, platformActor(c, p), func(f *persistence.CampaignFields) error {
		return campaignFields(req, f, false, now)
	})
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) deleteCampaign(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, campaignFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ev, err := s.db.DeleteCampaign(c, p.TenantID, id, platformActor(c, p))
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) startCampaign(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, campaignFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	// The template is checked against the provider before the transaction
	// (a network call must not hold it open).
	draft, err := s.db.GetCampaign(c, p.TenantID, id)
	if err != nil {
		return err
	}
	if draft.Message.Type == "template" && draft.Status == crm.CampaignDraft {
		if err := s.checkApprovedTemplate(c, p, draft); err != nil {
			return err
		}
	}
	channel, err := s.db.ConnectionChannel(c, p.TenantID, draft.ConnectionID)
	if err != nil {
		return err
	}
	out, ev, err := s.db.StartCampaign(c, p.TenantID, id, platformActor(c, p), s.now(), campaignStartCheck(channel))
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	if out.Status == crm.CampaignRunning {
		s.wakeCampaign(c, p.TenantID, out)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// campaignStartCheck refuses a non-template WhatsApp campaign that reaches
// contacts outside their 24-hour window (it runs in the starting
// transaction, so the channel is read before).
func campaignStartCheck(channel string) persistence.StartCheck {
	return func(c crm.Campaign, preview persistence.AudiencePreview) error {
		if c.Message.Type == "template" || preview.OutsideWindow == 0 || channel != "whatsapp" {
			return nil
		}
		return crm.NewError(crm.ErrUnprocessable, "template_required",
			fmt.Sprintf("%d of the %d contacts are outside the 24-hour window: on WhatsApp only an approved template reaches them",
				preview.OutsideWindow, preview.Count), map[string]any{"outside_window": preview.OutsideWindow, "count": preview.Count})
	}
}

// checkApprovedTemplate asks the connection's provider whether the
// campaign's template is approved (a provider without templates passes).
func (s *Server) checkApprovedTemplate(c *gin.Context, p crm.Principal, camp crm.Campaign) error {
	var tpl struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
	}
	if err := json.Unmarshal(camp.Message.Template, &tpl); err != nil || tpl.Name == "" {
		return fieldError("message.template", "must name a template: {name, language: {code}, components?}")
	}
	if s.cfg.Sealer == nil || s.cfg.Providers == nil {
		return nil
	}
	sec, err := persistence.LoadConnection(c, s.db, s.cfg.Sealer, p.TenantID, camp.ConnectionID)
	if err != nil {
		return err
	}
	adapter, err := s.cfg.Providers.For(sec)
	if err != nil {
		return err
	}
	templates, err := adapter.ListTemplates(c)
	if errors.Is(err, channels.ErrUnsupported) {
		return nil
	}
	if err != nil {
		return gatewayError(err)
	}
	for _, t := range templates {
		if t.Name == tpl.Name && (tpl.Language.Code == "" || t.Language == tpl.Language.Code) {
			if strings.EqualFold(t.Status, "APPROVED") {
				return nil
			}
			return crm.NewError(crm.ErrUnprocessable, "template_not_approved",
				fmt.Sprintf("the template %q is %s, not approved", t.Name, strings.ToLower(t.Status)), nil)
		}
	}
	return crm.NewError(crm.ErrUnprocessable, "template_not_approved",
		fmt.Sprintf("the connection has no template %q in %q", tpl.Name, tpl.Language.Code), nil)
}

// wakeCampaign tells the engine at once; its sweep would within seconds.
func (s *Server) wakeCampaign(c *gin.Context, tenantID uuid.UUID, camp crm.Campaign) {
	if s.cfg.Engine == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c), 5*time.Second)
	defer cancel()
	if err := s.cfg.Engine.WakeCampaign(ctx, tenantID, camp.ConnectionID, camp.ID); err != nil {
		s.log.Warn("waking a campaign", "campaign_id", camp.ID, "error", err)
	}
}

func (s *Server) moveCampaign(action string) handler {
	return func(c *gin.Context, p crm.Principal) error {
		if err := s.requireFeature(c, p, campaignFeature); err != nil {
			return err
		}
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		out, ev, err := s.db.MoveCampaign(c, p.TenantID, id, platformActor(c, p), action)
		if err != nil {
			return err
		}
		s.publish(p.TenantID, ev)
		s.wakeCampaign(c, p.TenantID, out) // a running lane stops, a resumed one starts
		c.JSON(http.StatusOK, out)
		return nil
	}
}

func (s *Server) previewCampaignAudience(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, campaignFeature); err != nil {
		return err
	}
	var req audiencePreviewRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	out, err := s.db.PreviewAudience(c, p.TenantID, req.ConnectionID, req.Audience)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func recipientStatus(status string) error {
	switch status {
	case "", "pending", "sent", "delivered", "read", "failed", "skipped":
		return nil
	}
	return fieldError("status", "must be pending, sent, delivered, read, failed or skipped")
}

func (s *Server) listCampaignRecipients(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, campaignFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var q recipientsQuery
	if err := c.ShouldBindQuery(&q); err != nil {
		return fieldError("query", "malformed query parameters")
	}
	if err := recipientStatus(q.Status); err != nil {
		return err
	}
	page, err := s.db.CampaignRecipients(c, p.TenantID, id, persistence.RecipientFilter{Status: q.Status, Cursor: q.Cursor, Limit: q.Limit})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) exportCampaignRecipients(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, campaignFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	status := c.Query("status")
	if err := recipientStatus(status); err != nil {
		return err
	}
	var w *csv.Writer
	err = s.db.EachCampaignRecipient(c, p.TenantID, id, status, func(r crm.CampaignRecipient) error {
		if w == nil {
			c.Header("Content-Type", "text/csv; charset=utf-8")
			c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="campaign-%s.csv"`, id))
			c.Header("Cache-Control", "no-store")
			c.Status(http.StatusOK)
			w = csv.NewWriter(c.Writer)
			if err := w.Write([]string{"position", "contact_id", "name", "phone", "status", "error", "sent_at", "delivered_at", "read_at"}); err != nil {
				return err
			}
		}
		return w.Write(contactGuardRecord([]string{fmt.Sprint(r.Position), r.ContactID.String(), r.ContactName, deref(r.Phone),
			r.Status, recipientError(r.Error), csvTime(r.SentAt), csvTime(r.DeliveredAt), csvTime(r.ReadAt)}))
	})
	if err != nil {
		if w != nil {
			s.log.Warn("campaign export cut short", "campaign_id", id, "error", err)
			return nil // the answer has begun; the client sees a short file
		}
		return err
	}
	if w == nil { // no recipients: the header alone
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="campaign-%s.csv"`, id))
		c.Status(http.StatusOK)
		w = csv.NewWriter(c.Writer)
		if err := w.Write([]string{"position", "contact_id", "name", "phone", "status", "error", "sent_at", "delivered_at", "read_at"}); err != nil {
			return nil
		}
	}
	w.Flush()
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// recipientError is a recipient's error as one cell: the skip reason, or
// the provider's code and message.
func recipientError(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var e struct {
		Reason  string `json:"reason"`
		Code    any    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return string(raw)
	}
	switch {
	case e.Reason != "":
		return e.Reason
	case e.Code != nil && fmt.Sprint(e.Code) != "" && fmt.Sprint(e.Code) != "0":
		return fmt.Sprintf("%v: %s", e.Code, e.Message)
	}
	return e.Message
}

func (s *Server) campaignActivity(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, campaignFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	bucket := c.DefaultQuery("bucket", "minute")
	if bucket != "minute" && bucket != "hour" {
		return fieldError("bucket", "must be minute or hour")
	}
	points, err := s.db.CampaignActivity(c, p.TenantID, id, bucket)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, campaignActivity{Bucket: bucket, Points: points})
	return nil
}
