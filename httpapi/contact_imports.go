package httpapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"golang.org/x/text/encoding/charmap"
	textunicode "golang.org/x/text/encoding/unicode"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"crm"
	"crm/persistence"
)

// Import limits and pacing.
const (
	contactImportMaxBytes = 10 << 20
	contactImportMaxRows  = 100_000
	// contactImportBatchRows rows commit together with the job's progress.
	contactImportBatchRows = 200
	contactImportTimeout   = time.Hour
	contactImportLabelsMax = 20
	contactLabelNameMax    = 60
)

func (s *Server) contactImportRoutes() {
	s.route(op{Method: http.MethodPost, Path: "/api/v1/contacts/import",
		Summary: "Import contacts from CSV (multipart field \"file\" or a text/csv body, ≤ 10 MB, ≤ 100,000 rows); " +
			"answers 202 with the job, processed in the background",
		Tag: "contacts", Access: accessTenant, Perm: crm.PermContactsImport, Raw: "multipart/form-data",
		Response: persistence.ContactImport{}, Status: http.StatusAccepted}, s.importContacts)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/contacts/imports/:id", Summary: "A contact import's progress and first errors",
		Tag: "contacts", Access: accessTenant, Perm: crm.PermContactsImport, Response: persistence.ContactImport{}},
		s.getContactImport)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/contacts/imports/:id/errors.csv",
		Summary: "Every failed row of a contact import: row, field, message and the original cells", Tag: "contacts",
		Access: accessTenant, Perm: crm.PermContactsImport, Raw: "text/csv"}, s.contactImportErrorsCSV)
}

func (s *Server) importContacts(c *gin.Context, p crm.Principal) error {
	data, filename, err := readContactImportUpload(c)
	if err != nil {
		return err
	}
	file, err := parseContactImportCSV(decodeContactImportText(data))
	if err != nil {
		return err
	}
	mapping, err := mapContactImportHeader(file.Header)
	if err != nil {
		return err
	}
	job, err := s.db.CreateContactImport(c, p.TenantID, contactActor(c, p), persistence.NewContactImport{
		ID: crm.NewID(), CreatedBy: p.UserID, Filename: contactTruncate(filename, 200), Headers: file.Header,
		TotalRows: len(file.Records)})
	if err != nil {
		return err
	}
	// The job outlives the request; its deadline is its own. One job per
	// tenant runs at a time (the store refuses a second), so this is bounded.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), contactImportTimeout)
	go func() {
		defer cancel()
		s.runContactImport(ctx, p.TenantID, job.ID, mapping, file.Records)
	}()
	c.Header("Location", "/api/v1/contacts/imports/"+job.ID.String())
	c.JSON(http.StatusAccepted, job)
	return nil
}

// runContactImport writes the rows in batches, each batch committing its
// contacts, its row errors and the job's progress together.
func (s *Server) runContactImport(ctx context.Context, tenantID, importID uuid.UUID, mapping contactImportMapping,
	records []contactImportRecord) {
	log := s.log.With("tenant_id", tenantID, "import_id", importID)
	finish := func(failure string) {
		// Record the outcome even when ctx has expired.
		finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := s.db.FinishContactImport(finishCtx, tenantID, importID, failure); err != nil {
			log.ErrorContext(finishCtx, "recording the end of a contact import", "error", err)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			log.ErrorContext(ctx, "contact import panicked", "panic", r)
			finish("internal error")
		}
	}()
	if err := s.db.StartContactImport(ctx, tenantID, importID); err != nil {
		log.ErrorContext(ctx, "starting a contact import", "error", err)
		finish("could not start")
		return
	}
	importer := s.db.NewContactImporter(tenantID, importID)
	for start := 0; start < len(records); start += contactImportBatchRows {
		end := min(start+contactImportBatchRows, len(records))
		rows := make([]persistence.ContactImportRow, 0, end-start)
		for _, record := range records[start:end] {
			rows = append(rows, mapping.row(record))
		}
		var err error
		for attempt := 1; attempt <= 3; attempt++ {
			if _, err = importer.ImportBatch(ctx, rows); err == nil {
				break
			}
			log.WarnContext(ctx, "contact import batch failed", "attempt", attempt, "first_row", rows[0].Row, "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(attempt) * time.Second):
			}
			if ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				finish("the import took too long and was stopped; rows already processed are kept")
			} else {
				finish(fmt.Sprintf("rows from line %d on could not be stored; rows before are kept", rows[0].Row))
			}
			return
		}
	}
	finish("")
}

func (s *Server) getContactImport(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	job, err := s.db.GetContactImport(c, p.TenantID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, job)
	return nil
}

func (s *Server) contactImportErrorsCSV(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	job, err := s.db.GetContactImport(c, p.TenantID, id)
	if err != nil {
		return err
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="contact-import-%s-errors.csv"`, job.ID))
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	header := append([]string{"row", "field", "message"}, job.Headers...)
	if err := w.Write(contactGuardRecord(header)); err != nil {
		return nil // the client went away
	}
	err = s.db.EachContactImportError(c, p.TenantID, id, func(e persistence.ContactImportError) error {
		record := append([]string{fmt.Sprint(e.Row), e.Field, e.Message}, e.Original...)
		return w.Write(contactGuardRecord(record))
	})
	w.Flush()
	if err == nil {
		err = w.Error()
	}
	if err != nil {
		s.log.ErrorContext(c, "contact import error report failed mid-stream", "import_id", id, "error", err)
		c.Abort()
		if hijacker, ok := c.Writer.(http.Hijacker); ok {
			if conn, _, hijackErr := hijacker.Hijack(); hijackErr == nil {
				conn.Close()
			}
		}
	}
	return nil
}

func errContactImportTooLarge() error {
	return crm.NewError(crm.ErrTooLarge, "body_too_large", "the file is larger than 10 MB",
		map[string]any{"limit_bytes": contactImportMaxBytes})
}

// readContactImportUpload reads the CSV from a multipart form's "file" field
// or, for any other content type, from the body itself.
func readContactImportUpload(c *gin.Context) (data []byte, filename string, err error) {
	// Room for the multipart envelope around a file of the maximum size.
	body := http.MaxBytesReader(c.Writer, c.Request.Body, contactImportMaxBytes+64<<10)
	defer func() {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			data, filename, err = nil, "", errContactImportTooLarge()
		}
	}()
	mediaType, params, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mediaType == "multipart/form-data" {
		reader := multipart.NewReader(body, params["boundary"])
		for {
			part, err := reader.NextPart()
			if errors.Is(err, io.EOF) {
				fields := crm.FieldErrors{}
				fields.Add("file", "is required: send the CSV in the multipart field \"file\"")
				return nil, "", fields.Err()
			}
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					return nil, "", err
				}
				return nil, "", crm.NewError(crm.ErrInvalid, "invalid_multipart", "the multipart body is malformed", nil)
			}
			if part.FormName() != "file" {
				continue
			}
			data, err = io.ReadAll(io.LimitReader(part, contactImportMaxBytes+1))
			if err != nil {
				return nil, "", err
			}
			filename = part.FileName()
			break
		}
	} else {
		if data, err = io.ReadAll(io.LimitReader(body, contactImportMaxBytes+1)); err != nil {
			return nil, "", err
		}
		if _, params, err := mime.ParseMediaType(c.GetHeader("Content-Disposition")); err == nil {
			filename = params["filename"]
		}
	}
	if len(data) > contactImportMaxBytes {
		return nil, "", errContactImportTooLarge()
	}
	return data, filename, nil
}

// decodeContactImportText returns the file as UTF-8: a UTF-8 BOM is dropped,
// UTF-16 with a BOM (Excel's "Unicode text") is decoded, and anything else
// that is not valid UTF-8 is read as Windows-1252, the Latin-1 superset
// Brazilian Excel writes.
func decodeContactImportText(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		decoded, err := textunicode.UTF16(textunicode.LittleEndian, textunicode.ExpectBOM).NewDecoder().Bytes(data)
		if err == nil {
			return string(decoded)
		}
	}
	if utf8.Valid(data) {
		return string(data)
	}
	decoded, err := charmap.Windows1252.NewDecoder().Bytes(data)
	if err != nil {
		return strings.ToValidUTF8(string(data), "\uFFFD")
	}
	return string(decoded)
}

// contactImportDelimiter picks ';', ',' or a tab: whichever appears most in
// the header line outside quotes (Brazilian Excel writes ';').
func contactImportDelimiter(text string) rune {
	counts := map[rune]int{}
	quoted := false
	for _, r := range text {
		if r == '"' {
			quoted = !quoted
			continue
		}
		if quoted {
			continue
		}
		if r == '\n' || r == '\r' {
			break
		}
		if r == ';' || r == ',' || r == '\t' {
			counts[r]++
		}
	}
	best := ','
	for _, r := range []rune{';', '\t'} {
		if counts[r] > counts[best] {
			best = r
		}
	}
	return best
}

// contactImportRecord is one CSV record; Row is the line it starts on, which
// is the spreadsheet row number when no cell spans lines.
type contactImportRecord struct {
	Row     int
	Cells   []string
	Problem string // set when the record could not be read
}

type contactImportFile struct {
	Header  []string
	Records []contactImportRecord // without blank rows
}

func errContactImportCSV(message string, details map[string]any) error {
	return crm.NewError(crm.ErrInvalid, "invalid_csv", message, details)
}

// parseContactImportCSV splits the text into the header and the non-blank
// records, each numbered by its line.
func parseContactImportCSV(text string) (contactImportFile, error) {
	if strings.TrimSpace(text) == "" {
		return contactImportFile{}, errContactImportCSV("the file is empty; it needs a header row and data rows", nil)
	}
	reader := csv.NewReader(strings.NewReader(text))
	reader.Comma = contactImportDelimiter(text)
	reader.FieldsPerRecord = -1
	reader.LazyQuotes = true
	var file contactImportFile
	for {
		cells, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var parseErr *csv.ParseError
		if err != nil && !errors.As(err, &parseErr) {
			return contactImportFile{}, errContactImportCSV("the file could not be read as CSV", nil)
		}
		if file.Header == nil {
			if err != nil || contactBlank(cells) {
				return contactImportFile{}, errContactImportCSV("the first row must be a header naming the columns", nil)
			}
			file.Header = make([]string, len(cells))
			for i, cell := range cells {
				file.Header[i] = strings.TrimSpace(cell)
			}
			continue
		}
		record := contactImportRecord{Cells: cells}
		if err != nil {
			record.Row, record.Problem = parseErr.StartLine, "the row is not valid CSV: "+parseErr.Err.Error()
		} else {
			if len(cells) > 0 {
				record.Row, _ = reader.FieldPos(0)
			}
			if contactBlank(cells) {
				continue
			}
		}
		if len(file.Records) == contactImportMaxRows {
			return contactImportFile{}, crm.NewError(crm.ErrTooLarge, "too_many_rows",
				fmt.Sprintf("the file has more than %d rows; split it", contactImportMaxRows),
				map[string]any{"limit_rows": contactImportMaxRows})
		}
		file.Records = append(file.Records, record)
	}
	if file.Header == nil {
		return contactImportFile{}, errContactImportCSV("the first row must be a header naming the columns", nil)
	}
	if len(file.Records) == 0 {
		return contactImportFile{}, errContactImportCSV("the file has a header but no data rows", nil)
	}
	return file, nil
}

func contactBlank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// What an import column holds.
type contactImportKind int

const (
	contactImportIgnored contactImportKind = iota
	contactImportName
	contactImportPhone
	contactImportEmail
	contactImportLabels
	contactImportCustom
)

// contactImportAliases are the header names, accents and case aside, of the
// standard columns, in English and Portuguese.
var contactImportAliases = func() map[string]contactImportKind {
	aliases := map[string]contactImportKind{}
	for kind, names := range map[contactImportKind][]string{
		contactImportName: {"name", "nome", "nome completo", "full name", "contact name", "contato", "nome do contato"},
		contactImportPhone: {"phone", "telefone", "celular", "whatsapp", "whats", "fone", "tel", "cel", "mobile",
			"phone number", "numero", "telefone celular", "numero de telefone"},
		contactImportEmail:  {"email", "e mail", "mail", "endereco de email", "endereco de e mail"},
		contactImportLabels: {"labels", "label", "etiquetas", "etiqueta", "tags", "tag"},
	} {
		for _, name := range names {
			aliases[name] = kind
		}
	}
	return aliases
}()

// contactFoldAccents drops diacritics: "Endereço" → "Endereco".
func contactFoldAccents(s string) string {
	folded, _, err := transform.String(transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC), s)
	if err != nil {
		return s
	}
	return folded
}

// contactImportStandardColumn says which standard column a header names, or
// contactImportCustom.
func contactImportStandardColumn(header string) contactImportKind {
	h := strings.ToLower(contactFoldAccents(strings.TrimSpace(header)))
	h = strings.Join(strings.FieldsFunc(h, func(r rune) bool { return r == ' ' || r == '_' || r == '-' || r == '.' }), " ")
	if kind, ok := contactImportAliases[h]; ok {
		return kind
	}
	return contactImportCustom
}

var contactKeyJunk = regexp.MustCompile(`[^a-zA-Z0-9_]+`)

// contactCustomKey turns a header into a custom field key: a valid key is
// kept as is (so exports import back), anything else is made one
// ("Data de nascimento" → "Data_de_nascimento").
func contactCustomKey(header string) string {
	if contactCustomKeyPattern.MatchString(header) {
		return header
	}
	key := strings.Trim(contactKeyJunk.ReplaceAllString(contactFoldAccents(header), "_"), "_")
	if key == "" {
		return ""
	}
	if key[0] < 'A' || (key[0] > 'Z' && key[0] < 'a') || key[0] > 'z' {
		key = "f_" + key
	}
	if len(key) > 40 {
		key = strings.TrimRight(key[:40], "_")
	}
	if !contactCustomKeyPattern.MatchString(key) {
		return ""
	}
	return key
}

type contactImportColumn struct {
	kind contactImportKind
	key  string // for custom columns
}

// contactImportMapping is what each column of a file holds.
type contactImportMapping struct {
	columns []contactImportColumn
}

// mapContactImportHeader matches the header's columns, case- and
// accent-insensitively, to name, phone, email and labels (English and
// Portuguese names); any other column is a custom field, with an optional
// "custom." prefix. Several phone (or name, email) columns are fallbacks: a
// row takes the first that is not empty.
func mapContactImportHeader(header []string) (contactImportMapping, error) {
	m := contactImportMapping{columns: make([]contactImportColumn, len(header))}
	problems := []string{}
	seen := map[string]int{}
	hasPhone := false
	customs := 0
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			continue // an unnamed column: spreadsheets leave trailing ones
		}
		kind := contactImportStandardColumn(h)
		name := h
		if len(h) > 7 && strings.EqualFold(h[:7], "custom.") {
			kind, name = contactImportCustom, strings.TrimSpace(h[7:])
		}
		column := contactImportColumn{kind: kind}
		if kind == contactImportCustom {
			column.key = contactCustomKey(name)
			if column.key == "" {
				problems = append(problems, fmt.Sprintf("column %d (%q) cannot be used as a custom field name", i+1, contactTruncate(h, 40)))
				continue
			}
			if first, dup := seen[column.key]; dup {
				problems = append(problems, fmt.Sprintf("columns %d and %d both become the custom field %q", first+1, i+1, column.key))
				continue
			}
			seen[column.key] = i
			customs++
		}
		hasPhone = hasPhone || kind == contactImportPhone
		m.columns[i] = column
	}
	if customs > contactCustomFieldsMax {
		problems = append(problems, fmt.Sprintf("%d custom field columns; at most %d", customs, contactCustomFieldsMax))
	}
	if !hasPhone {
		problems = append(problems, "no phone column: name one phone, telefone, celular or whatsapp")
	}
	if len(problems) > 0 {
		return m, errContactImportCSV("the header row has problems", map[string]any{"problems": problems})
	}
	return m, nil
}

// row turns a record into a contact row, with every problem found.
func (m contactImportMapping) row(record contactImportRecord) persistence.ContactImportRow {
	out := persistence.ContactImportRow{Row: record.Row, Original: record.Cells}
	if record.Problem != "" {
		out.Errors = []persistence.ContactImportError{{Row: record.Row, Field: "row", Message: record.Problem}}
		return out
	}
	fields := crm.FieldErrors{}
	var name, phone, email string
	custom := map[string]any{}
	var labels []string
	for i, raw := range record.Cells {
		cell := strings.TrimSpace(contactCSVUnguard(raw))
		if i >= len(m.columns) {
			if cell != "" {
				fields.Add("row", "has %d cells but the header names %d columns", len(record.Cells), len(m.columns))
			}
			continue
		}
		if cell == "" {
			continue
		}
		switch column := m.columns[i]; column.kind {
		case contactImportName:
			if name == "" {
				name = cell
			}
		case contactImportPhone:
			if phone == "" {
				phone = cell
			}
		case contactImportEmail:
			if email == "" {
				email = cell
			}
		case contactImportLabels:
			labels = append(labels, cell)
		case contactImportCustom:
			custom[column.key] = cell
		}
	}
	out.Name = contactName(fields, name)
	if phone == "" {
		fields.Add("phone", "is required: the phone identifies the contact")
	} else if normalized := contactPhone(fields, phone); normalized != nil {
		out.Phone = *normalized
	}
	if normalized := contactEmail(fields, email); normalized != nil {
		out.Email = *normalized
	}
	out.Labels = contactImportLabelNames(fields, labels)
	out.CustomFields = validateContactCustomFields(fields, custom)
	for _, field := range contactSortedFields(fields) {
		out.Errors = append(out.Errors, persistence.ContactImportError{Row: record.Row, Field: field, Message: fields[field]})
	}
	return out
}

// contactImportLabelNames splits label cells on ';' and ',' and drops
// repeats, case aside.
func contactImportLabelNames(fields crm.FieldErrors, cells []string) []string {
	var names []string
	seen := map[string]bool{}
	for _, cell := range cells {
		for _, name := range strings.FieldsFunc(cell, func(r rune) bool { return r == ';' || r == ',' }) {
			name = strings.TrimSpace(name)
			if name == "" || seen[strings.ToLower(name)] {
				continue
			}
			if utf8.RuneCountInString(name) > contactLabelNameMax || !contactText(name) {
				fields.Add("labels", "label %q must be text of at most %d characters", contactTruncate(name, 40), contactLabelNameMax)
				return nil
			}
			seen[strings.ToLower(name)] = true
			names = append(names, name)
		}
	}
	if len(names) > contactImportLabelsMax {
		fields.Add("labels", "at most %d labels per row", contactImportLabelsMax)
		return nil
	}
	return names
}

func contactSortedFields(fields crm.FieldErrors) []string {
	return slices.Sorted(maps.Keys(fields))
}
