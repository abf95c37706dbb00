package persistence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"crm"
)

// Contact import statuses.
const (
	ContactImportQueued    = "queued"
	ContactImportRunning   = "running"
	ContactImportCompleted = "completed"
	ContactImportFailed    = "failed"
)

// ContactImportErrorsShown is how many row errors a job carries; the rest are
// in the downloadable report.
const ContactImportErrorsShown = 100

// contactImportStaleAfter is how long an unfinished job may go without a
// progress write before it is taken for dead (its node stopped) and no longer
// blocks the tenant's next import. A batch commits progress in well under this.
const contactImportStaleAfter = 10 * time.Minute

// ContactImport is one CSV import job and its progress.
type ContactImport struct {
	ID            uuid.UUID            `json:"id"`
	Status        string               `json:"status"` // queued, running, completed, failed
	Filename      string               `json:"filename"`
	TotalRows     int                  `json:"total_rows"`
	ProcessedRows int                  `json:"processed_rows"`
	Created       int                  `json:"created"`
	Updated       int                  `json:"updated"`
	Failed        int                  `json:"failed"`
	Errors        []ContactImportError `json:"errors"` // the first ContactImportErrorsShown, by row
	Failure       string               `json:"failure,omitempty"`
	CreatedBy     *uuid.UUID           `json:"created_by"`
	CreatedAt     time.Time            `json:"created_at"`
	StartedAt     *time.Time           `json:"started_at"`
	FinishedAt    *time.Time           `json:"finished_at"`
	Headers       []string             `json:"-"` // the file's header row, for the error report
}

// ContactImportError is one problem with one row. Field is the contact field
// (phone, email, custom_fields.<key>, labels) or "row" for the row as a whole.
type ContactImportError struct {
	Row      int      `json:"row"`
	Field    string   `json:"field"`
	Message  string   `json:"message"`
	Original []string `json:"-"` // the row's cells as read
}

// NewContactImport is a job to create.
type NewContactImport struct {
	ID        uuid.UUID
	CreatedBy uuid.UUID
	Filename  string
	Headers   []string
	TotalRows int
}

const contactImportColumns = `id, status, filename, total_rows, processed_rows, created_rows, updated_rows,
	failed_rows, failure, created_by, created_at, started_at, finished_at, headers`

func scanContactImport(row pgx.Row) (ContactImport, error) {
	var j ContactImport
	err := row.Scan(&j.ID, &j.Status, &j.Filename, &j.TotalRows, &j.ProcessedRows, &j.Created, &j.Updated,
		&j.Failed, &j.Failure, &j.CreatedBy, &j.CreatedAt, &j.StartedAt, &j.FinishedAt, &j.Headers)
	if j.Headers == nil {
		j.Headers = []string{}
	}
	j.Errors = []ContactImportError{}
	return j, err
}

func loadContactImport(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID) (ContactImport, error) {
	j, err := scanContactImport(tx.QueryRow(ctx, `SELECT `+contactImportColumns+` FROM contact_imports
		WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return j, crm.NotFound("import")
	}
	if err != nil {
		return j, err
	}
	rows, err := tx.Query(ctx, `SELECT row_no, field, message FROM contact_import_errors
		WHERE tenant_id = $1 AND import_id = $2 ORDER BY row_no, field LIMIT $3`, tenantID, id, ContactImportErrorsShown)
	if err != nil {
		return j, err
	}
	var e ContactImportError
	_, err = pgx.ForEachRow(rows, []any{&e.Row, &e.Field, &e.Message}, func() error {
		j.Errors = append(j.Errors, e)
		return nil
	})
	return j, err
}

func errContactImportRunning(running uuid.UUID) error {
	details := map[string]any{}
	if running != uuid.Nil {
		details["import_id"] = running
	}
	return crm.NewError(crm.ErrConflict, "import_running",
		"another contact import is still running; wait for it to finish", details)
}

// CreateContactImport stores a queued job. A tenant has at most one unfinished
// job: while one is queued or running (and alive) this answers 409
// import_running.
func (db *DB) CreateContactImport(ctx context.Context, tenantID uuid.UUID, by AuditEntry, in NewContactImport) (ContactImport, error) {
	if in.Headers == nil {
		in.Headers = []string{}
	}
	var out ContactImport
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		// A job whose worker died (its node stopped mid-import) stops blocking.
		if _, err := tx.Exec(ctx, `UPDATE contact_imports SET status = 'failed', finished_at = now(),
			failure = 'the import stopped before finishing (the server restarted); rows already processed are kept'
			WHERE tenant_id = $1 AND status IN ('queued', 'running') AND updated_at < now() - make_interval(secs => $2)`,
			tenantID, contactImportStaleAfter.Seconds()); err != nil {
			return err
		}
		var running uuid.UUID
		err := tx.QueryRow(ctx, `SELECT id FROM contact_imports WHERE tenant_id = $1 AND status IN ('queued', 'running')`,
			tenantID).Scan(&running)
		if err == nil {
			return errContactImportRunning(running)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO contact_imports (tenant_id, id, created_by, filename, headers, total_rows)
			VALUES ($1, $2, $3, $4, $5, $6)`, tenantID, in.ID, nullableID(in.CreatedBy), contactImportText(in.Filename),
			contactImportCells(in.Headers), in.TotalRows); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "contact_imports_one_active" {
				return errContactImportRunning(uuid.Nil)
			}
			return err
		}
		if out, err = loadContactImport(ctx, tx, tenantID, in.ID); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "import", "contact_import", in.ID, nil, out
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

func nullableID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// GetContactImport loads a job with its first row errors.
func (db *DB) GetContactImport(ctx context.Context, tenantID, id uuid.UUID) (ContactImport, error) {
	var out ContactImport
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = loadContactImport(ctx, tx, tenantID, id)
		return err
	})
	return out, translate(err)
}

// StartContactImport marks a queued job running.
func (db *DB) StartContactImport(ctx context.Context, tenantID, id uuid.UUID) error {
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE contact_imports SET status = 'running', started_at = now()
			WHERE tenant_id = $1 AND id = $2 AND status = 'queued'`, tenantID, id)
		return err
	})
	return translate(err)
}

// FinishContactImport marks a job completed, or failed with the reason when
// failure is not empty.
func (db *DB) FinishContactImport(ctx context.Context, tenantID, id uuid.UUID, failure string) error {
	status := ContactImportCompleted
	if failure != "" {
		status = ContactImportFailed
	}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE contact_imports SET status = $3, failure = $4, finished_at = now()
			WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running')`, tenantID, id, status,
			contactImportText(failure))
		return err
	})
	return translate(err)
}

// contactImportErrorBatch is how many report rows are read per transaction.
const contactImportErrorBatch = 2000

// EachContactImportError calls fn for every row error of the job, in row
// order, with the row's original cells.
func (db *DB) EachContactImportError(ctx context.Context, tenantID, importID uuid.UUID, fn func(ContactImportError) error) error {
	afterRow, afterField := 0, ""
	for {
		batch := make([]ContactImportError, 0, contactImportErrorBatch)
		err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT row_no, field, message, original FROM contact_import_errors
				WHERE tenant_id = $1 AND import_id = $2 AND (row_no, field) > ($3, $4)
				ORDER BY row_no, field LIMIT $5`, tenantID, importID, afterRow, afterField, contactImportErrorBatch)
			if err != nil {
				return err
			}
			var e ContactImportError
			_, err = pgx.ForEachRow(rows, []any{&e.Row, &e.Field, &e.Message, &e.Original}, func() error {
				batch = append(batch, e)
				e.Original = nil
				return nil
			})
			return err
		})
		if err != nil {
			return translate(err)
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < contactImportErrorBatch {
			return nil
		}
		afterRow, afterField = batch[len(batch)-1].Row, batch[len(batch)-1].Field
	}
}

// ContactImportRow is one parsed CSV row. A row that already has Errors is
// only recorded as failed; otherwise it is written, or fails as a whole.
type ContactImportRow struct {
	Row          int    // the CSV record number, the header being 1
	Name         string // "" keeps an existing contact's name
	Phone        string // E.164; identifies the contact
	Email        string // lower-case; "" keeps an existing contact's email
	Labels       []string
	CustomFields map[string]any // merged into an existing contact's
	Original     []string
	Errors       []ContactImportError
}

// ContactImportProgress counts rows.
type ContactImportProgress struct {
	Processed, Created, Updated, Failed int
}

// ContactImporter writes the rows of one import job. Not safe for concurrent use.
type ContactImporter struct {
	db       *DB
	tenantID uuid.UUID
	importID uuid.UUID
	// labels maps lower-cased names to ids of labels known to be committed.
	labels map[string]uuid.UUID
}

// NewContactImporter returns the writer of the job's rows.
func (db *DB) NewContactImporter(tenantID, importID uuid.UUID) *ContactImporter {
	return &ContactImporter{db: db, tenantID: tenantID, importID: importID, labels: map[string]uuid.UUID{}}
}

// contactImportRowError is a problem with one row's data; the row's savepoint
// is rolled back and the row reported.
type contactImportRowError struct{ field, message string }

func (e *contactImportRowError) Error() string { return e.field + ": " + e.message }

// ImportBatch writes rows in one transaction so that the job's counters and
// the rows' errors commit with the contacts: the progress a client reads is
// exactly what is stored. Every row is written whole or not at all. The batch
// is first written with a few set-based statements; when any row fails there
// (or two rows share a phone) it is written again row by row, each row inside
// its own savepoint, so a failing row is rolled back and reported while the
// others commit. An error means nothing of the batch was kept; it may be
// retried.
func (im *ContactImporter) ImportBatch(ctx context.Context, rows []ContactImportRow) (ContactImportProgress, error) {
	progress, err := im.batch(ctx, rows, true)
	var pgErr *pgconn.PgError
	if errors.Is(err, errContactImportRowByRow) || errors.As(err, &pgErr) {
		progress, err = im.batch(ctx, rows, false)
	}
	if err != nil {
		return ContactImportProgress{}, translate(err)
	}
	return progress, nil
}

// errContactImportRowByRow sends a batch down the row-by-row path.
var errContactImportRowByRow = errors.New("the batch needs row-by-row writing")

func (im *ContactImporter) batch(ctx context.Context, rows []ContactImportRow, setBased bool) (ContactImportProgress, error) {
	var progress ContactImportProgress
	batchLabels := map[string]uuid.UUID{}
	err := im.db.TenantTx(ctx, im.tenantID, func(tx pgx.Tx) error {
		var failures []ContactImportError
		fail := func(row ContactImportRow, errs ...ContactImportError) {
			progress.Failed++
			for _, e := range errs {
				e.Row, e.Original = row.Row, row.Original
				failures = append(failures, e)
			}
		}
		valid := make([]ContactImportRow, 0, len(rows))
		for _, row := range rows {
			progress.Processed++
			if len(row.Errors) > 0 {
				fail(row, row.Errors...)
				continue
			}
			valid = append(valid, row)
		}
		if setBased {
			created, err := im.writeSet(ctx, tx, valid, batchLabels)
			if err != nil {
				return err
			}
			progress.Created, progress.Updated = created, len(valid)-created
		} else {
			for _, row := range valid {
				created, rowErr, err := im.writeRow(ctx, tx, row, batchLabels)
				switch {
				case err != nil:
					return err
				case rowErr != nil:
					fail(row, *rowErr)
				case created:
					progress.Created++
				default:
					progress.Updated++
				}
			}
		}
		if err := insertContactImportErrors(ctx, tx, im.tenantID, im.importID, failures); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE contact_imports SET processed_rows = processed_rows + $3,
			created_rows = created_rows + $4, updated_rows = updated_rows + $5, failed_rows = failed_rows + $6
			WHERE tenant_id = $1 AND id = $2`, im.tenantID, im.importID, progress.Processed, progress.Created,
			progress.Updated, progress.Failed)
		return err
	})
	if err != nil {
		return ContactImportProgress{}, err
	}
	for k, v := range batchLabels {
		im.labels[k] = v
	}
	return progress, nil
}

// writeRow writes one row inside a savepoint. A row the data makes fail is
// rolled back and described by rowErr; err means the batch as a whole failed.
func (im *ContactImporter) writeRow(ctx context.Context, tx pgx.Tx, row ContactImportRow,
	batchLabels map[string]uuid.UUID) (created bool, rowErr *ContactImportError, err error) {
	rowLabels := map[string]uuid.UUID{}
	savepoint, err := tx.Begin(ctx)
	if err != nil {
		return false, nil, err
	}
	created, err = im.importRow(ctx, savepoint, row, batchLabels, rowLabels)
	if err == nil {
		if err = savepoint.Commit(ctx); err == nil {
			for k, v := range rowLabels {
				batchLabels[k] = v
			}
			return created, nil, nil
		}
	}
	if rollbackErr := savepoint.Rollback(ctx); rollbackErr != nil {
		return false, nil, fmt.Errorf("rolling back row %d: %w (after %v)", row.Row, rollbackErr, err)
	}
	var dataErr *contactImportRowError
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &dataErr):
		return false, &ContactImportError{Field: dataErr.field, Message: dataErr.message}, nil
	case errors.As(err, &pgErr):
		// The statement failed on this row's data; the savepoint kept the rest
		// of the batch. A label we cached may be what vanished.
		clear(im.labels)
		clear(batchLabels)
		e := contactImportStatementError(err)
		return false, &e, nil
	}
	return false, nil, err // the connection or the context
}

// writeSet writes every row with one upsert and one label insert. It returns
// errContactImportRowByRow when the rows can't be written together: two rows
// with the same phone, or a contact that would end with too many custom fields.
func (im *ContactImporter) writeSet(ctx context.Context, tx pgx.Tx, rows []ContactImportRow,
	batchLabels map[string]uuid.UUID) (created int, err error) {
	if len(rows) == 0 {
		return 0, nil
	}
	n := len(rows)
	ids, names, phones, customs := make([]uuid.UUID, n), make([]string, n), make([]string, n), make([]string, n)
	emails := make([]*string, n)
	index := make(map[string]int, n)
	for i, row := range rows {
		if _, dup := index[row.Phone]; dup {
			return 0, errContactImportRowByRow // the second must merge into the first
		}
		index[row.Phone] = i
		custom := row.CustomFields
		if custom == nil {
			custom = map[string]any{}
		}
		raw, err := json.Marshal(custom)
		if err != nil {
			return 0, err
		}
		ids[i], names[i], phones[i], customs[i] = crm.NewID(), row.Name, row.Phone, string(raw)
		if row.Email != "" {
			emails[i] = &rows[i].Email
		}
	}
	result, err := tx.Query(ctx, `INSERT INTO contacts AS c (tenant_id, id, name, phone, email, custom_fields)
		SELECT $1, t.id, t.name, t.phone, t.email, t.custom::jsonb
		FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t(id, name, phone, email, custom)
		ON CONFLICT (tenant_id, phone) DO UPDATE SET
			name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE c.name END,
			email = coalesce(EXCLUDED.email, c.email),
			custom_fields = c.custom_fields || EXCLUDED.custom_fields
		RETURNING c.id, c.phone, (SELECT count(*) FROM jsonb_object_keys(c.custom_fields))`,
		im.tenantID, ids, names, phones, emails, customs)
	if err != nil {
		return 0, err
	}
	contactIDs := make([]uuid.UUID, n)
	var id uuid.UUID
	var phone string
	var keys int
	tooMany := false
	_, err = pgx.ForEachRow(result, []any{&id, &phone, &keys}, func() error {
		i := index[phone]
		contactIDs[i] = id
		if id == ids[i] {
			created++
		}
		tooMany = tooMany || keys > contactMaxCustomFields
		return nil
	})
	if err != nil {
		return 0, err
	}
	if tooMany {
		return 0, errContactImportRowByRow
	}
	var labelContacts, labelIDs []uuid.UUID
	for i, row := range rows {
		for _, name := range row.Labels {
			labelID, err := im.label(ctx, tx, name, batchLabels)
			if err != nil {
				return 0, err
			}
			labelContacts, labelIDs = append(labelContacts, contactIDs[i]), append(labelIDs, labelID)
		}
	}
	if len(labelIDs) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO contact_labels (tenant_id, contact_id, label_id)
			SELECT $1, t.contact_id, t.label_id FROM unnest($2::uuid[], $3::uuid[]) AS t(contact_id, label_id)
			ON CONFLICT DO NOTHING`, im.tenantID, labelContacts, labelIDs); err != nil {
			return 0, err
		}
	}
	return created, nil
}

// contactImportStatementError describes a row the database refused.
func contactImportStatementError(err error) ContactImportError {
	var coded *crm.Error
	if errors.As(translate(err), &coded) {
		if errors.Is(coded.Kind, crm.ErrPlanLimit) {
			return ContactImportError{Field: "row", Message: "not imported: the plan's contact limit is reached"}
		}
		if field, _ := coded.Details["field"].(string); field != "" {
			return ContactImportError{Field: field, Message: coded.Message}
		}
		return ContactImportError{Field: "row", Message: "could not be saved: " + coded.Message}
	}
	return ContactImportError{Field: "row", Message: "could not be saved"}
}

// importRow upserts one contact by phone: a new phone creates a contact, a
// known one updates it (non-empty name and email replace, custom fields merge,
// labels add). Labels named in the row are created when missing.
func (im *ContactImporter) importRow(ctx context.Context, tx pgx.Tx, row ContactImportRow,
	batchLabels, rowLabels map[string]uuid.UUID) (created bool, err error) {
	custom := row.CustomFields
	if custom == nil {
		custom = map[string]any{}
	}
	var email *string
	if row.Email != "" {
		email = &row.Email
	}
	newID := crm.NewID()
	var id uuid.UUID
	var keys int
	err = tx.QueryRow(ctx, `INSERT INTO contacts AS c (tenant_id, id, name, phone, email, custom_fields)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (tenant_id, phone) DO UPDATE SET
			name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE c.name END,
			email = coalesce(EXCLUDED.email, c.email),
			custom_fields = c.custom_fields || EXCLUDED.custom_fields
		RETURNING c.id, (SELECT count(*) FROM jsonb_object_keys(c.custom_fields))`,
		im.tenantID, newID, row.Name, row.Phone, email, custom).Scan(&id, &keys)
	if err != nil {
		return false, err
	}
	if keys > contactMaxCustomFields {
		return false, &contactImportRowError{field: "custom_fields",
			message: fmt.Sprintf("the contact would have %d custom fields; at most %d are allowed", keys, contactMaxCustomFields)}
	}
	if len(row.Labels) > 0 {
		ids := make([]uuid.UUID, 0, len(row.Labels))
		for _, name := range row.Labels {
			labelID, err := im.label(ctx, tx, name, batchLabels, rowLabels)
			if err != nil {
				return false, err
			}
			ids = append(ids, labelID)
		}
		if err := addContactLabels(ctx, tx, im.tenantID, id, contactDedupe(ids)); err != nil {
			return false, err
		}
	}
	return id == newID, nil
}

// label finds a label by name, case-insensitively, or creates it.
func (im *ContactImporter) label(ctx context.Context, tx pgx.Tx, name string, caches ...map[string]uuid.UUID) (uuid.UUID, error) {
	key := strings.ToLower(name)
	if id, ok := im.labels[key]; ok {
		return id, nil
	}
	for _, cache := range caches {
		if id, ok := cache[key]; ok {
			return id, nil
		}
	}
	rowLabels := caches[len(caches)-1]
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id FROM labels WHERE tenant_id = $1 AND lower(name) = lower($2)
		ORDER BY name = $2 DESC, name LIMIT 1`, im.tenantID, name).Scan(&id)
	if err == nil {
		rowLabels[key] = id
		return id, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, err
	}
	err = tx.QueryRow(ctx, `INSERT INTO labels (tenant_id, id, name) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id`, im.tenantID, crm.NewID(), name).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) { // created meanwhile by someone else
		err = tx.QueryRow(ctx, `SELECT id FROM labels WHERE tenant_id = $1 AND name = $2`, im.tenantID, name).Scan(&id)
	}
	if err != nil {
		return uuid.Nil, err
	}
	rowLabels[key] = id
	return id, nil
}

// insertContactImportErrors stores the batch's row errors with their cells.
func insertContactImportErrors(ctx context.Context, tx pgx.Tx, tenantID, importID uuid.UUID, errs []ContactImportError) error {
	if len(errs) == 0 {
		return nil
	}
	rowNos := make([]int32, len(errs))
	fields := make([]string, len(errs))
	messages := make([]string, len(errs))
	originals := make([]string, len(errs))
	for i, e := range errs {
		rowNos[i] = int32(e.Row)
		fields[i] = contactImportText(e.Field)
		messages[i] = contactImportText(e.Message)
		raw, err := json.Marshal(contactImportCells(e.Original))
		if err != nil {
			return err
		}
		originals[i] = string(raw)
	}
	_, err := tx.Exec(ctx, `INSERT INTO contact_import_errors (tenant_id, import_id, row_no, field, message, original)
		SELECT $1, $2, r, f, m, o::jsonb FROM unnest($3::int[], $4::text[], $5::text[], $6::text[]) AS t(r, f, m, o)
		ON CONFLICT DO NOTHING`, tenantID, importID, rowNos, fields, messages, originals)
	return err
}

// contactImportText makes s storable in text and jsonb: valid UTF-8 without
// NUL, which PostgreSQL refuses.
func contactImportText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func contactImportCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = contactImportText(c)
	}
	return out
}
