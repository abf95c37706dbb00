package httpapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"mime/multipart"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"
	textunicode "golang.org/x/text/encoding/unicode"

	"crm"
	"crm/persistence"
)

// contactImportUpload posts a CSV file as multipart/form-data.
func contactImportUpload(t *testing.T, env *testEnv, token, filename string, data []byte) response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", filename)
	require.NoError(t, err)
	_, err = part.Write(data)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	return env.doHeaders(http.MethodPost, "/api/v1/contacts/import", token, body.Bytes(),
		map[string]string{"Content-Type": mw.FormDataContentType()})
}

// contactImportStart uploads a file and returns the accepted job's id.
func contactImportStart(t *testing.T, env *testEnv, token string, data []byte) string {
	t.Helper()
	res := contactImportUpload(t, env, token, "contatos.csv", data)
	require.Equal(t, http.StatusAccepted, res.Status, "%s", res.Body)
	job := res.JSON()
	require.Contains(t, []string{"queued", "running", "completed"}, job["status"])
	require.Equal(t, "/api/v1/contacts/imports/"+job["id"].(string), res.Header.Get("Location"))
	return job["id"].(string)
}

// contactImportWait polls the job until it has finished and returns it.
func contactImportWait(t *testing.T, env *testEnv, token, id string) map[string]any {
	t.Helper()
	var job map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := env.do(http.MethodGet, "/api/v1/contacts/imports/"+id, token, nil)
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		job = res.JSON()
		if job["status"] == "completed" || job["status"] == "failed" {
			return job
		}
		require.True(t, time.Now().Before(deadline), "import %s still %s: %v", id, job["status"], job)
		time.Sleep(20 * time.Millisecond)
	}
}

// contactImportRun uploads a file and waits for its job to complete.
func contactImportRun(t *testing.T, env *testEnv, token string, data []byte) map[string]any {
	t.Helper()
	job := contactImportWait(t, env, token, contactImportStart(t, env, token, data))
	require.Equal(t, "completed", job["status"], "%v", job)
	return job
}

func contactCSV(t *testing.T, raw []byte, delimiter rune) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(raw))
	r.Comma = delimiter
	r.FieldsPerRecord = -1
	records, err := r.ReadAll()
	require.NoError(t, err, "%s", raw)
	return records
}

// contactByPhone loads a contact with its label names straight from the store.
func contactByPhone(t *testing.T, env *testEnv, tenantID uuid.UUID, phone string) (persistence.Contact, []string) {
	t.Helper()
	page, err := env.db.ListContacts(context.Background(), tenantID, persistence.ContactFilter{Q: phone})
	require.NoError(t, err)
	require.Len(t, page.Items, 1, "one contact with phone %s", phone)
	c := page.Items[0]
	var names []string
	err = env.db.TenantTx(context.Background(), tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT name FROM labels WHERE id = ANY($1) ORDER BY name`, c.LabelIDs)
		if err != nil {
			return err
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	require.NoError(t, err)
	return c, names
}

func contactLabelExists(t *testing.T, env *testEnv, tenantID uuid.UUID, name string) bool {
	t.Helper()
	var n int
	err := env.db.TenantTx(context.Background(), tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM labels WHERE name = $1`, name).Scan(&n)
	})
	require.NoError(t, err)
	return n > 0
}

func TestContactImportSemicolonBOMWithBadRows(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	token := acme.AdminToken
	cliente := contactLabel(t, env, acme.ID, "Cliente")
	contactCreate(t, env, token, map[string]any{"name": "Antigo", "phone": "+5511911110000",
		"custom_fields": map[string]any{"origem": "site"}})
	full := map[string]any{}
	for i := 0; i < 50; i++ {
		full[fmt.Sprintf("k%02d", i)] = "v"
	}
	contactCreate(t, env, token, map[string]any{"name": "Cheio Original", "phone": "+5511922220000", "custom_fields": full})

	file := "\uFEFF" + strings.Join([]string{
		`Nome;Telefone;E-mail;Etiquetas;Cidade;custom.plano`,
		`Ana Souza;(11) 98765-4321;ANA@EXEMPLO.COM;VIP, Novos;São Paulo;ouro`,
		`Bruno;11 9 1111 0000;;cliente;Rio;prata`,
		`Telefone ruim;12345;;;Recife;`,
		`Sem telefone;;x@y.com;;;`,
		`Email ruim;21 3456-7890;not-an-email;;;`,
		`;;;;;`,
		`Cheio;11 92222-0000;;Fantasma;Natal;bronze`,
		`"Carla ""CJ"" Lima";+55 21 99999-8888;carla@exemplo.com;;"Belo Horizonte; MG";`,
		`=1+1;31 98888-7777;;;;`,
	}, "\r\n") + "\r\n"
	id := contactImportStart(t, env, token, []byte(file))
	job := contactImportWait(t, env, token, id)

	require.Equal(t, "completed", job["status"], "%v", job)
	require.Equal(t, float64(8), job["total_rows"]) // the blank row is not a row
	require.Equal(t, float64(8), job["processed_rows"])
	require.Equal(t, float64(3), job["created"])
	require.Equal(t, float64(1), job["updated"])
	require.Equal(t, float64(4), job["failed"])
	require.Equal(t, "contatos.csv", job["filename"])
	require.NotEmpty(t, job["started_at"])
	require.NotEmpty(t, job["finished_at"])
	var got []string
	for _, e := range job["errors"].([]any) {
		e := e.(map[string]any)
		got = append(got, fmt.Sprintf("%v %v", e["row"], e["field"]))
		require.NotEmpty(t, e["message"])
	}
	require.Equal(t, []string{"4 phone", "5 phone", "6 email", "8 custom_fields"}, got)

	// The good rows are stored, normalised.
	ana, labels := contactByPhone(t, env, acme.ID, "+5511987654321")
	require.Equal(t, "Ana Souza", ana.Name)
	require.Equal(t, "ana@exemplo.com", *ana.Email)
	require.Equal(t, map[string]any{"Cidade": "São Paulo", "plano": "ouro"}, ana.CustomFields)
	require.Equal(t, []string{"Novos", "VIP"}, labels) // created on the fly

	carla, _ := contactByPhone(t, env, acme.ID, "+5521999998888")
	require.Equal(t, `Carla "CJ" Lima`, carla.Name)
	require.Equal(t, "Belo Horizonte; MG", carla.CustomFields["Cidade"])
	formula, _ := contactByPhone(t, env, acme.ID, "+5531988887777")
	require.Equal(t, "=1+1", formula.Name)

	// A known phone updates its contact: name replaced, custom fields merged,
	// labels added (matched case-insensitively to the existing "Cliente").
	bruno, labels := contactByPhone(t, env, acme.ID, "+5511911110000")
	require.Equal(t, "Bruno", bruno.Name)
	require.Equal(t, map[string]any{"origem": "site", "Cidade": "Rio", "plano": "prata"}, bruno.CustomFields)
	require.Equal(t, []uuid.UUID{cliente}, bruno.LabelIDs)
	require.Equal(t, []string{"Cliente"}, labels)

	// The row that failed inside the database left nothing behind: not its
	// name, not its custom fields, not the label it would have created.
	cheio, labels := contactByPhone(t, env, acme.ID, "+5511922220000")
	require.Equal(t, "Cheio Original", cheio.Name)
	require.Len(t, cheio.CustomFields, 50)
	require.Empty(t, labels)
	require.False(t, contactLabelExists(t, env, acme.ID, "Fantasma"))

	// The bad rows created nothing.
	for _, q := range []string{"Telefone ruim", "Sem telefone", "Email ruim"} {
		require.Empty(t, contactSearch(t, env, token, "q="+strings.ReplaceAll(q, " ", "+")), q)
	}
	require.Len(t, contactSearch(t, env, token, ""), 5)

	// The error report has every failed row with its original cells.
	res := env.do(http.MethodGet, "/api/v1/contacts/imports/"+id+"/errors.csv", token, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv"))
	require.Contains(t, res.Header.Get("Content-Disposition"), "attachment")
	report := contactCSV(t, res.Body, ',')
	require.Equal(t, []string{"row", "field", "message", "Nome", "Telefone", "E-mail", "Etiquetas", "Cidade", "custom.plano"}, report[0])
	require.Len(t, report, 5)
	require.Equal(t, []string{"4", "phone", "not a valid Brazilian phone number; use +<country code> for other countries"}, report[1][:3])
	require.Equal(t, []string{"Telefone ruim", "12345", "", "", "Recife", ""}, report[1][3:])
	require.Equal(t, []string{"5", "phone", "is required: the phone identifies the contact", "Sem telefone", "", "x@y.com", "", "", ""}, report[2])
	require.Equal(t, []string{"6", "email", "must be a valid email address"}, report[3][:3])
	require.Equal(t, "8", report[4][0])
	require.Equal(t, "custom_fields", report[4][1])
	require.Equal(t, []string{"Cheio", "11 92222-0000", "", "Fantasma", "Natal", "bronze"}, report[4][3:])

	// The import was audited; its rows are not one audit entry each.
	var audited int
	require.NoError(t, env.db.TenantTx(context.Background(), acme.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE entity = 'contact_import' AND action = 'import'`).Scan(&audited)
	}))
	require.Equal(t, 1, audited)
}

func TestContactExportRoundTripsImport(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	other := env.tenant("other")
	file := strings.Join([]string{
		`name,whatsapp,email,labels,plano,obs,custom.telefone`,
		`Ana Souza,(11) 98765-4321,ana@exemplo.com,"VIP; Novos",ouro,"linha 1` + "\n" + `linha 2",fixo`,
		`=1+1,31 98888-7777,,,,"-2+3",`,
		`@mention,+1 415 555 2671,,Internacional,,"vírgula, ""aspas""",`,
		`Sem extras,21 3456-7890,,,,,`,
	}, "\n")
	contactImportRun(t, env, acme.AdminToken, []byte(file))

	res := env.do(http.MethodGet, "/api/v1/contacts/export", acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv"))
	require.Regexp(t, `^attachment; filename="contacts-\d{8}-\d{6}\.csv"$`, res.Header.Get("Content-Disposition"))
	exported := contactCSV(t, res.Body, ',')
	require.Equal(t, []string{"name", "phone", "email", "labels", "obs", "plano", "custom.telefone"}, exported[0])
	// The rows come in list order, which follows the database's collation for
	// the punctuation-led names; their content is what matters here.
	require.ElementsMatch(t, [][]string{
		{"'@mention", "+14155552671", "", "Internacional", `vírgula, "aspas"`, "", ""},
		{"'=1+1", "+5531988887777", "", "", "'-2+3", "", ""},
		{"Ana Souza", "+5511987654321", "ana@exemplo.com", "Novos; VIP", "linha 1\nlinha 2", "ouro", "fixo"},
		{"Sem extras", "+552134567890", "", "", "", "", ""},
	}, exported[1:])

	// Importing the export elsewhere stores the same contacts, and exporting
	// those gives the same file.
	contactImportRun(t, env, other.AdminToken, res.Body)
	again := env.do(http.MethodGet, "/api/v1/contacts/export", other.AdminToken, nil)
	require.Equal(t, http.StatusOK, again.Status)
	require.Equal(t, string(res.Body), string(again.Body))
	for _, phone := range []string{"+5511987654321", "+5531988887777", "+14155552671", "+552134567890"} {
		a, aLabels := contactByPhone(t, env, acme.ID, phone)
		b, bLabels := contactByPhone(t, env, other.ID, phone)
		require.Equal(t, a.Name, b.Name)
		require.Equal(t, a.Email, b.Email)
		require.Equal(t, a.CustomFields, b.CustomFields)
		require.Equal(t, aLabels, bLabels)
	}
	formula, _ := contactByPhone(t, env, other.ID, "+5531988887777")
	require.Equal(t, "=1+1", formula.Name)
	require.Equal(t, "-2+3", formula.CustomFields["obs"])

	// Filters apply; the semicolon flavour is what Excel in Brazil opens.
	vipRes := env.do(http.MethodGet, "/api/v1/contacts?q=ana", acme.AdminToken, nil)
	require.Len(t, vipRes.Items(), 1)
	vip := vipRes.Items()[0]["label_ids"].([]any)
	for _, labelID := range vip {
		res = env.do(http.MethodGet, "/api/v1/contacts/export?delimiter=semicolon&label_id="+labelID.(string), acme.AdminToken, nil)
		require.Equal(t, http.StatusOK, res.Status)
		require.True(t, bytes.HasPrefix(res.Body, []byte("\uFEFF")))
		rows := contactCSV(t, bytes.TrimPrefix(res.Body, []byte("\uFEFF")), ';')
		require.Len(t, rows, 2)
		require.Equal(t, "Ana Souza", rows[1][0])
		require.Equal(t, []string{"name", "phone", "email", "labels", "obs", "plano", "custom.telefone"}, rows[0])
	}
	res = env.do(http.MethodGet, "/api/v1/contacts/export?q=nobody", acme.AdminToken, nil)
	require.Equal(t, [][]string{{"name", "phone", "email", "labels"}}, contactCSV(t, res.Body, ','))
	res = env.do(http.MethodGet, "/api/v1/contacts/export?delimiter=pipe", acme.AdminToken, nil)
	require.Contains(t, contactFields(t, res), "delimiter")
}

func TestContactImportLimits(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")

	// Over 10 MB: 413, as a raw body and as a multipart file.
	big := append([]byte("name;phone\n"), bytes.Repeat([]byte("x;11987654321\n"), contactImportMaxBytes/14+1)...)
	require.Greater(t, len(big), contactImportMaxBytes)
	res := env.doHeaders(http.MethodPost, "/api/v1/contacts/import", acme.AdminToken, big, map[string]string{"Content-Type": "text/csv"})
	require.Equal(t, http.StatusRequestEntityTooLarge, res.Status, "%s", res.Body)
	require.Equal(t, "body_too_large", res.ErrorCode())
	res = contactImportUpload(t, env, acme.AdminToken, "big.csv", big)
	require.Equal(t, http.StatusRequestEntityTooLarge, res.Status, "%s", res.Body)

	// Over 100,000 rows: 413 too.
	many := append([]byte("phone\n"), bytes.Repeat([]byte("1\n"), contactImportMaxRows+1)...)
	res = env.doHeaders(http.MethodPost, "/api/v1/contacts/import", acme.AdminToken, many, map[string]string{"Content-Type": "text/csv"})
	require.Equal(t, http.StatusRequestEntityTooLarge, res.Status, "%s", res.Body)
	require.Equal(t, "too_many_rows", res.ErrorCode())

	// Files that can't be imported at all are refused before a job exists.
	for name, body := range map[string]string{
		"empty":           "",
		"header only":     "nome;telefone\n",
		"no phone column": "nome;email\nAna;ana@x.com\n",
		"blank header":    ";;\nAna;11987654321;x\n",
		"bad custom name": "telefone;???\n11987654321;x\n",
	} {
		res := env.doHeaders(http.MethodPost, "/api/v1/contacts/import", acme.AdminToken, body, map[string]string{"Content-Type": "text/csv"})
		require.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", name, res.Body)
		require.Equal(t, "invalid_csv", res.ErrorCode(), name)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	require.NoError(t, mw.WriteField("other", "x"))
	require.NoError(t, mw.Close())
	res = env.doHeaders(http.MethodPost, "/api/v1/contacts/import", acme.AdminToken, body.Bytes(),
		map[string]string{"Content-Type": mw.FormDataContentType()})
	require.Contains(t, contactFields(t, res), "file")

	// Nothing was queued by any of these.
	var jobs int
	require.NoError(t, env.db.TenantTx(context.Background(), acme.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM contact_imports`).Scan(&jobs)
	}))
	require.Zero(t, jobs)
}

func TestContactImportOneAtATimePerTenant(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	other := env.tenant("other")
	ctx := context.Background()
	running, err := env.db.CreateContactImport(ctx, acme.ID, persistence.AuditEntry{}, persistence.NewContactImport{
		ID: crm.NewID(), Filename: "first.csv", TotalRows: 10})
	require.NoError(t, err)
	require.NoError(t, env.db.StartContactImport(ctx, acme.ID, running.ID))

	file := []byte("telefone\n11987654321\n")
	res := contactImportUpload(t, env, acme.AdminToken, "second.csv", file)
	require.Equal(t, http.StatusConflict, res.Status, "%s", res.Body)
	require.Equal(t, "import_running", res.ErrorCode())
	require.Equal(t, running.ID.String(), res.JSON()["error"].(map[string]any)["details"].(map[string]any)["import_id"])

	// Another tenant is not held up.
	contactImportRun(t, env, other.AdminToken, file)

	// Once the first finishes the next one runs.
	require.NoError(t, env.db.FinishContactImport(ctx, acme.ID, running.ID, ""))
	job := contactImportRun(t, env, acme.AdminToken, file)
	require.Equal(t, float64(1), job["created"])

	// A job whose worker died (no progress for a long while) stops blocking.
	stuck, err := env.db.CreateContactImport(ctx, acme.ID, persistence.AuditEntry{}, persistence.NewContactImport{ID: crm.NewID()})
	require.NoError(t, err)
	conn, err := env.db.Pool.Acquire(ctx)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `SET session_replication_role = replica`) // test-only: keep the touch trigger off
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `UPDATE contact_imports SET updated_at = now() - interval '1 hour' WHERE id = $1`, stuck.ID)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `SET session_replication_role = origin`)
	require.NoError(t, err)
	conn.Release()
	job = contactImportRun(t, env, acme.AdminToken, []byte("telefone\n11987654321\n"))
	require.Equal(t, float64(1), job["updated"])
	res = env.do(http.MethodGet, "/api/v1/contacts/imports/"+stuck.ID.String(), acme.AdminToken, nil)
	require.Equal(t, "failed", res.JSON()["status"])
	require.NotEmpty(t, res.JSON()["failure"])
}

func TestContactImportPermissionsAndTenancy(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	other := env.tenant("other")
	_, agent := env.user(acme, crm.RoleAgent, "Ana")
	_, supervisor := env.user(acme, crm.RoleSupervisor, "Sup")
	file := []byte("telefone\n11987654321\n")

	res := contactImportUpload(t, env, agent, "x.csv", file)
	require.Equal(t, http.StatusForbidden, res.Status, "%s", res.Body)
	// Agents export (they read contacts); supervisors import.
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/contacts/export", agent, nil).Status)
	id := contactImportStart(t, env, supervisor, file)
	contactImportWait(t, env, supervisor, id)

	require.Equal(t, http.StatusForbidden, env.do(http.MethodGet, "/api/v1/contacts/imports/"+id, agent, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/contacts/imports/"+id, other.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/contacts/imports/"+id+"/errors.csv", other.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/contacts/imports/"+crm.NewID().String(), acme.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/contacts/imports/nope", acme.AdminToken, nil).Status)
	require.Empty(t, contactSearch(t, env, other.AdminToken, ""))
}

func TestContactImportLatin1AndCommaBody(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")

	latin1, err := charmap.Windows1252.NewEncoder().String("Nome;Telefone;Endereço;Observação\nJoão Gonçalves;11 98765-4321;Rua São Bento;ótimo\n")
	require.NoError(t, err)
	res := env.doHeaders(http.MethodPost, "/api/v1/contacts/import", acme.AdminToken, latin1,
		map[string]string{"Content-Type": "text/csv; charset=iso-8859-1"})
	require.Equal(t, http.StatusAccepted, res.Status, "%s", res.Body)
	contactImportWait(t, env, acme.AdminToken, res.JSON()["id"].(string))
	joao, _ := contactByPhone(t, env, acme.ID, "+5511987654321")
	require.Equal(t, "João Gonçalves", joao.Name)
	require.Equal(t, map[string]any{"Endereco": "Rua São Bento", "Observacao": "ótimo"}, joao.CustomFields)

	// A plain comma-separated body, a header in another case and a fallback
	// phone column.
	body := "NAME,Phone,Celular,EMAIL\nMaria,,21 99876-5432,MARIA@X.COM\n"
	res = env.doHeaders(http.MethodPost, "/api/v1/contacts/import", acme.AdminToken, body, map[string]string{"Content-Type": "text/csv"})
	require.Equal(t, http.StatusAccepted, res.Status, "%s", res.Body)
	job := contactImportWait(t, env, acme.AdminToken, res.JSON()["id"].(string))
	require.Equal(t, float64(1), job["created"], "%v", job)
	maria, _ := contactByPhone(t, env, acme.ID, "+5521998765432")
	require.Equal(t, "maria@x.com", *maria.Email)
}

func TestContactImportTextDecoding(t *testing.T) {
	t.Parallel()
	utf16, err := textunicode.UTF16(textunicode.LittleEndian, textunicode.UseBOM).NewEncoder().String("nome;telefone\nJoão;1\n")
	require.NoError(t, err)
	latin1, err := charmap.ISO8859_1.NewEncoder().String("nome;endereço\n")
	require.NoError(t, err)
	cases := []struct {
		in, want string
		comma    rune
	}{
		{"\uFEFFnome;telefone\n", "nome;telefone\n", ';'},
		{utf16, "nome;telefone\nJoão;1\n", ';'},
		{latin1, "nome;endereço\n", ';'},
		{"name,phone\n", "name,phone\n", ','},
		{"name\tphone\n", "name\tphone\n", '\t'},
		{`"a;b",c` + "\n", `"a;b",c` + "\n", ','},
		{"phone\n", "phone\n", ','},
	}
	for _, tc := range cases {
		text := decodeContactImportText([]byte(tc.in))
		require.Equal(t, tc.want, text)
		require.Equal(t, tc.comma, contactImportDelimiter(text), "%q", tc.in)
	}
}

var contactE164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// FuzzContactImportCSV: any bytes go through decoding, parsing, header
// mapping and row mapping without panicking, and every row is either
// reported with its problems or valid for the store.
func FuzzContactImportCSV(f *testing.F) {
	for _, seed := range []string{
		"\uFEFFNome;Telefone;E-mail;Etiquetas;Cidade\nAna;(11) 98765-4321;a@b.com;VIP, Novos;SP\n;;;;\nBad;123;;;\n",
		"phone,name\n+1 415 555 2671,\"Quoted \"\"name\"\"\"\n11987654321,'=1+1\n",
		"telefone\n\"unterminated\n",
		"custom.x;whatsapp;custom.X\n1;11987654321;2\n",
		"telefone;a;b\n11987654321;1;2;3;4\n",
		"phone\n\x00\n",
		"\xff\xfe\x00",
		"nome;telefone\nJo\xe3o;11 98765-4321\n",
		"",
		";\n;\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := parseContactImportCSV(decodeContactImportText(data))
		if err != nil {
			return
		}
		mapping, err := mapContactImportHeader(file.Header)
		if err != nil {
			return
		}
		if len(file.Records) == 0 || len(file.Records) > contactImportMaxRows {
			t.Fatalf("%d records accepted", len(file.Records))
		}
		for _, record := range file.Records {
			row := mapping.row(record)
			if row.Row < 1 {
				t.Fatalf("row number %d", row.Row)
			}
			if len(row.Errors) > 0 {
				for _, e := range row.Errors {
					if e.Field == "" || e.Message == "" || e.Row != row.Row {
						t.Fatalf("incomplete error %+v", e)
					}
				}
				continue
			}
			if !contactE164.MatchString(row.Phone) {
				t.Fatalf("row accepted with phone %q", row.Phone)
			}
			if len([]rune(row.Name)) > contactNameMax || !contactText(row.Name) {
				t.Fatalf("row accepted with name %q", row.Name)
			}
			fields := crm.FieldErrors{}
			validateContactCustomFields(fields, row.CustomFields)
			if len(fields) > 0 {
				t.Fatalf("row accepted with custom fields %v: %v", row.CustomFields, fields)
			}
			if len(row.Labels) > contactImportLabelsMax {
				t.Fatalf("%d labels accepted", len(row.Labels))
			}
			for _, label := range row.Labels {
				if label == "" || len([]rune(label)) > contactLabelNameMax {
					t.Fatalf("label %q accepted", label)
				}
			}
		}
	})
}

// The export's header and cells guard formulas but keep plain numbers.
func TestContactCSVCellGuard(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"=1+1": "'=1+1", "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0", "-2+3": "'-2+3", "@SUM(A1)": "'@SUM(A1)",
		"\tx": "'\tx", "+5511987654321": "+5511987654321", "-12.5": "-12.5", "plain": "plain", "": "",
	}
	keys := make([]string, 0, len(cases))
	for k := range cases {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, in := range keys {
		require.Equal(t, cases[in], contactCSVCell(in), "%q", in)
		require.Equal(t, strings.TrimSpace(in), strings.TrimSpace(contactCSVUnguard(contactCSVCell(in))), "%q round trip", in)
	}
}

// Two rows with one phone are one contact: the later row updates the earlier.
func TestContactImportSamePhoneTwice(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	file := "nome;telefone;etiquetas;cor\nPrimeiro;11 98765-4321;A;azul\nSegundo;(11) 8765-4321;B;\nOutro;21 99999-0000;;verde\n"
	job := contactImportRun(t, env, acme.AdminToken, []byte(file))
	require.Equal(t, float64(2), job["created"], "%v", job)
	require.Equal(t, float64(1), job["updated"])
	contact, labels := contactByPhone(t, env, acme.ID, "+5511987654321")
	require.Equal(t, "Segundo", contact.Name)
	require.Equal(t, map[string]any{"cor": "azul"}, contact.CustomFields) // an empty cell keeps the value
	require.Equal(t, []string{"A", "B"}, labels)
}

// At the plan's contact limit new rows fail one by one while updates of known
// contacts still go through; the API refuses new contacts with 402.
func TestContactImportStopsAtThePlanLimit(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	contactCreate(t, env, acme.AdminToken, map[string]any{"name": "Known", "phone": "11 91111-1111"})
	_, err := env.db.Pool.Exec(context.Background(), `UPDATE plans SET max_contacts = 3
		WHERE id = (SELECT plan_id FROM tenants WHERE id = $1)`, acme.ID)
	require.NoError(t, err)

	file := "nome;telefone\nA;11 92222-2222\nB;11 93333-3333\nC;11 94444-4444\nKnown again;11 91111-1111\nD;11 95555-5555\n"
	job := contactImportRun(t, env, acme.AdminToken, []byte(file))
	require.Equal(t, float64(2), job["created"], "%v", job)
	require.Equal(t, float64(1), job["updated"])
	require.Equal(t, float64(2), job["failed"])
	errs := job["errors"].([]any)
	require.Len(t, errs, 2)
	for i, row := range []float64{4, 6} {
		e := errs[i].(map[string]any)
		require.Equal(t, row, e["row"])
		require.Equal(t, "not imported: the plan's contact limit is reached", e["message"])
	}
	require.Equal(t, []string{"A", "B", "Known again"}, contactSearch(t, env, acme.AdminToken, ""))

	res := env.do(http.MethodPost, "/api/v1/contacts", acme.AdminToken, map[string]any{"name": "One more", "phone": "11 96666-6666"})
	require.Equal(t, http.StatusPaymentRequired, res.Status, "%s", res.Body)
	require.Equal(t, "plan_limit", res.ErrorCode())
}
