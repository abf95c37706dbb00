package httpapi

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

// Contact limits.
const (
	contactNameMax         = 200
	contactEmailMax        = 254
	contactLabelsMax       = 50
	contactCustomFieldsMax = 50
	contactCustomValueMax  = 1000
)

// contactCustomKeyPattern is what a custom field key looks like: an
// identifier a template or a bot flow can name.
var contactCustomKeyPattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,39}$`)

// createContactRequest: at least one of name, phone and email. The phone is
// normalised to E.164 (Brazil by default); the email is lower-cased.
type createContactRequest struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Email string `json:"email"`
	// CustomFields: at most 50 keys matching ^[a-zA-Z][a-zA-Z0-9_]{0,39}$;
	// values are strings (≤ 1000 characters), numbers, booleans or null.
	CustomFields map[string]any `json:"custom_fields"`
	LabelIDs     []string       `json:"label_ids"`
	Blocked      bool           `json:"blocked"`
	OptedOut     bool           `json:"opted_out"`
}

// updateContactRequest: only the fields present change. "" clears phone or
// email; custom_fields and label_ids replace the whole set.
type updateContactRequest struct {
	Name         *string        `json:"name"`
	Phone        *string        `json:"phone"`
	Email        *string        `json:"email"`
	CustomFields map[string]any `json:"custom_fields"`
	LabelIDs     *[]string      `json:"label_ids"`
	Blocked      *bool          `json:"blocked"`
	OptedOut     *bool          `json:"opted_out"`
}

// listContactsQuery: q matches name or email (substring, case-insensitive)
// and, when it looks like a phone number, the phone whatever its formatting.
// Contacts come alphabetically by name (case-insensitive), then by id.
type listContactsQuery struct {
	Q       string    `form:"q"`
	LabelID uuid.UUID `form:"label_id"`
	Cursor  string    `form:"cursor"`
	Limit   int       `form:"limit"`
}

// exportContactsQuery: the list's filters; delimiter "semicolon" writes the
// `;`-separated, BOM-prefixed file Excel in Brazil opens directly.
type exportContactsQuery struct {
	Q         string    `form:"q"`
	LabelID   uuid.UUID `form:"label_id"`
	Delimiter string    `form:"delimiter"`
}

// phoneConflictDetails are the details of a 409 on a contact's phone.
type phoneConflictDetails struct {
	Field string `json:"field"` // "phone"
	// ContactID is the contact that has the phone already: open it instead.
	ContactID uuid.UUID `json:"contact_id"`
}

// contactPhoneErrors document the duplicate phone answer of create and update.
var contactPhoneErrors = []opError{{Status: http.StatusConflict, Code: "conflict",
	Summary: "Another contact of the tenant has this phone number (however written); details.contact_id names it",
	Details: phoneConflictDetails{}}}

func (s *Server) contactRoutes() {
	s.route(op{Method: http.MethodGet, Path: "/api/v1/contacts", Summary: "List contacts by name (filters: q on name/phone/email, label_id)",
		Tag: "contacts", Access: accessTenant, Perm: crm.PermContactsRead, Query: listContactsQuery{},
		Response: crm.Page[persistence.Contact]{}}, s.listContacts)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/contacts", Summary: "Create a contact", Tag: "contacts",
		Access: accessTenant, Perm: crm.PermContactsWrite, Request: createContactRequest{},
		Response: persistence.Contact{}, Status: http.StatusCreated, Errors: contactPhoneErrors}, s.createContact)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/contacts/export", Summary: "Export contacts as CSV (same filters as the list)",
		Tag: "contacts", Access: accessTenant, Perm: crm.PermContactsRead, Query: exportContactsQuery{},
		Raw: "text/csv"}, s.exportContacts)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/contacts/:id", Summary: "Get a contact", Tag: "contacts",
		Access: accessTenant, Perm: crm.PermContactsRead, Response: persistence.Contact{}}, s.getContact)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/contacts/:id", Summary: "Update a contact (only the fields given)",
		Tag: "contacts", Access: accessTenant, Perm: crm.PermContactsWrite, Request: updateContactRequest{},
		Response: persistence.Contact{}, Errors: contactPhoneErrors}, s.updateContact)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/contacts/:id",
		Summary: "Delete a contact without conversations (409 contact_has_conversations otherwise)", Tag: "contacts",
		Access: accessTenant, Perm: crm.PermContactsDelete, Status: http.StatusNoContent}, s.deleteContact)
	s.contactImportRoutes()
}

func contactActor(c *gin.Context, p crm.Principal) persistence.AuditEntry {
	return persistence.AuditEntry{Actor: p, IP: c.ClientIP()}
}

// contactFilter reads the list filters shared by the list and the export.
func contactFilter(c *gin.Context) (persistence.ContactFilter, error) {
	labelID, err := queryUUID(c, "label_id")
	if err != nil {
		return persistence.ContactFilter{}, err
	}
	// Bytes PostgreSQL text can't hold would make the query fail, not match.
	q := strings.ReplaceAll(strings.ToValidUTF8(strings.TrimSpace(c.Query("q")), ""), "\x00", "")
	return persistence.ContactFilter{Q: q, LabelID: labelID}, nil
}

func (s *Server) listContacts(c *gin.Context, p crm.Principal) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	filter, err := contactFilter(c)
	if err != nil {
		return err
	}
	filter.Cursor, filter.Limit = c.Query("cursor"), limit
	page, err := s.db.ListContacts(c, p.TenantID, filter)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) createContact(c *gin.Context, p crm.Principal) error {
	var req createContactRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	in := persistence.NewContact{
		Name:         contactName(fields, req.Name),
		Phone:        contactPhone(fields, req.Phone),
		Email:        contactEmail(fields, req.Email),
		CustomFields: validateContactCustomFields(fields, req.CustomFields),
		LabelIDs:     contactLabelIDs(fields, req.LabelIDs),
		Blocked:      req.Blocked,
		OptedOut:     req.OptedOut,
	}
	if in.Name == "" && in.Phone == nil && in.Email == nil && len(fields) == 0 {
		fields.Add("name", "a name, phone or email is required")
	}
	if err := fields.Err(); err != nil {
		return err
	}
	contact, ev, err := s.db.CreateContact(c, p.TenantID, contactActor(c, p), in)
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusCreated, contact)
	return nil
}

func (s *Server) getContact(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	contact, err := s.db.GetContact(c, p.TenantID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, contact)
	return nil
}

func (s *Server) updateContact(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateContactRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	patch := persistence.ContactPatch{Blocked: req.Blocked, OptedOut: req.OptedOut}
	if req.Name != nil {
		name := contactName(fields, *req.Name)
		patch.Name = &name
	}
	if req.Phone != nil {
		phone := ""
		if normalized := contactPhone(fields, *req.Phone); normalized != nil {
			phone = *normalized
		}
		patch.Phone = &phone
	}
	if req.Email != nil {
		email := ""
		if normalized := contactEmail(fields, *req.Email); normalized != nil {
			email = *normalized
		}
		patch.Email = &email
	}
	if req.CustomFields != nil {
		patch.CustomFields = validateContactCustomFields(fields, req.CustomFields)
	}
	if req.LabelIDs != nil {
		ids := contactLabelIDs(fields, *req.LabelIDs)
		patch.LabelIDs = &ids
	}
	if err := fields.Err(); err != nil {
		return err
	}
	contact, ev, err := s.db.UpdateContact(c, p.TenantID, id, contactActor(c, p), patch)
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusOK, contact)
	return nil
}

func (s *Server) deleteContact(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ev, err := s.db.DeleteContact(c, p.TenantID, id, contactActor(c, p))
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.Status(http.StatusNoContent)
	return nil
}

// contactText reports whether s can be stored as text: valid UTF-8 without
// NUL or other control characters (tabs and newlines aside).
func contactText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}

// contactName trims a name and checks its length.
func contactName(fields crm.FieldErrors, raw string) string {
	name := strings.TrimSpace(raw)
	switch {
	case utf8.RuneCountInString(name) > contactNameMax:
		fields.Add("name", "must have at most %d characters", contactNameMax)
	case !contactText(name):
		fields.Add("name", "must be text without control characters")
	}
	return name
}

// contactPhone normalises a phone to E.164; "" is no phone.
func contactPhone(fields crm.FieldErrors, raw string) *string {
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	phone, err := crm.NormalizePhone(raw)
	if err != nil {
		var coded *crm.Error
		if errors.As(err, &coded) {
			fields.Add("phone", "%s", coded.Message)
		} else {
			fields.Add("phone", "is not a valid phone number")
		}
		return nil
	}
	return &phone
}

// contactEmail lower-cases an email and checks it is a bare address; "" is
// no email.
func contactEmail(fields crm.FieldErrors, raw string) *string {
	email := strings.ToLower(strings.TrimSpace(raw))
	if email == "" {
		return nil
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > contactEmailMax || !contactText(email) {
		fields.Add("email", "must be a valid email address")
		return nil
	}
	return &email
}

// contactLabelIDs parses label ids; whether they exist is the store's check.
func contactLabelIDs(fields crm.FieldErrors, raw []string) []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(raw))
	if len(raw) > contactLabelsMax {
		fields.Add("label_ids", "at most %d labels", contactLabelsMax)
		return ids
	}
	for _, s := range raw {
		id, err := uuid.Parse(s)
		if err != nil {
			fields.Add("label_ids", "%q is not a label id", contactTruncate(s, 40))
			return ids
		}
		ids = append(ids, id)
	}
	return ids
}

// validateContactCustomFields checks custom fields: a JSON object of at most
// 50 keys matching contactCustomKeyPattern whose values are strings of at most
// 1000 characters, numbers, booleans or null. Problems go to fields as
// custom_fields.<key>. It returns the fields to store, never nil.
func validateContactCustomFields(fields crm.FieldErrors, custom map[string]any) map[string]any {
	out := make(map[string]any, len(custom))
	if len(custom) > contactCustomFieldsMax {
		fields.Add("custom_fields", "at most %d custom fields; got %d", contactCustomFieldsMax, len(custom))
		return out
	}
	keys := make([]string, 0, len(custom))
	for k := range custom {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same input always reports the same problems
	for _, key := range keys {
		field := "custom_fields." + contactTruncate(key, 60)
		if !contactCustomKeyPattern.MatchString(key) {
			fields.Add(field, "keys start with a letter and have at most 40 letters, digits or underscores")
			continue
		}
		switch v := custom[key].(type) {
		case nil, bool, float64:
			out[key] = v
		case string:
			switch {
			case utf8.RuneCountInString(v) > contactCustomValueMax:
				fields.Add(field, "must have at most %d characters", contactCustomValueMax)
			case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
				fields.Add(field, "must be valid text")
			default:
				out[key] = v
			}
		default:
			fields.Add(field, "must be a string, number, boolean or null")
		}
	}
	return out
}

func contactTruncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// contactNumberCell is a plain number: a spreadsheet reads it as a value,
// never as a formula, so it needs no guard (and a phone stays +55…).
var contactNumberCell = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)

// contactCSVCell guards a cell against formula injection: a spreadsheet runs
// a cell starting with = + - @ (or a tab or carriage return) as a formula,
// so such cells get a leading apostrophe, unless they are plain numbers.
func contactCSVCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) || contactNumberCell.MatchString(s) {
		return s
	}
	return "'" + s
}

// contactCSVUnguard undoes contactCSVCell, so an export imports back as it was.
func contactCSVUnguard(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}

// contactCustomValueText is how a custom field value is written in a CSV cell.
func contactCustomValueText(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// contactExportColumn is the header of a custom field's column: the key
// itself, unless it would be read back as a standard column (a key named
// "telefone" would become the phone), then "custom.<key>".
func contactExportColumn(key string) string {
	if contactImportStandardColumn(key) != contactImportCustom {
		return "custom." + key
	}
	return key
}

func (s *Server) exportContacts(c *gin.Context, p crm.Principal) error {
	filter, err := contactFilter(c)
	if err != nil {
		return err
	}
	delimiter := ','
	switch c.Query("delimiter") {
	case "", "comma", ",":
	case "semicolon", ";":
		delimiter = ';'
	default:
		fields := crm.FieldErrors{}
		fields.Add("delimiter", "must be comma or semicolon")
		return fields.Err()
	}
	var w *csv.Writer
	var keys []string
	var labelNames map[uuid.UUID]string
	started, rows := false, 0
	err = s.db.ExportContacts(c, p.TenantID, filter, func(h persistence.ContactExportHeader) error {
		keys, labelNames = h.CustomFieldKeys, h.LabelNames
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="contacts-%s.csv"`, s.now().UTC().Format("20060102-150405")))
		c.Header("Cache-Control", "no-store")
		c.Status(http.StatusOK)
		started = true
		if delimiter == ';' {
			if _, err := c.Writer.Write([]byte("\uFEFF")); err != nil {
				return err
			}
		}
		w = csv.NewWriter(c.Writer)
		w.Comma = delimiter
		header := []string{"name", "phone", "email", "labels"}
		for _, k := range keys {
			header = append(header, contactExportColumn(k))
		}
		return w.Write(contactGuardRecord(header))
	}, func(ct persistence.Contact) error {
		names := make([]string, 0, len(ct.LabelIDs))
		for _, id := range ct.LabelIDs {
			if name, ok := labelNames[id]; ok {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		record := []string{ct.Name, contactDeref(ct.Phone), contactDeref(ct.Email), strings.Join(names, "; ")}
		for _, k := range keys {
			record = append(record, contactCustomValueText(ct.CustomFields[k]))
		}
		if err := w.Write(contactGuardRecord(record)); err != nil {
			return err
		}
		if rows++; rows%500 == 0 {
			w.Flush()
			return w.Error()
		}
		return nil
	})
	if err == nil && w != nil {
		w.Flush()
		err = w.Error()
	}
	if err != nil && started {
		// The status is sent; all we can do is cut the download short so the
		// client sees it incomplete rather than a file that looks whole.
		s.log.ErrorContext(c, "contact export failed mid-stream", "tenant_id", p.TenantID, "error", err)
		c.Abort()
		if hijacker, ok := c.Writer.(http.Hijacker); ok {
			if conn, _, hijackErr := hijacker.Hijack(); hijackErr == nil {
				conn.Close()
			}
		}
		return nil
	}
	return err
}

func contactGuardRecord(record []string) []string {
	for i, cell := range record {
		record[i] = contactCSVCell(cell)
	}
	return record
}

func contactDeref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
