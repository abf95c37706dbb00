package providers

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/url"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"crm"
)

// The rules of a connection's content: which credentials each provider and
// channel takes, which settings a connection may carry, what the sandbox
// generates. The store keeps rows; these decide what may go in them.

type credentialSpec struct {
	required []string
	// externalID names the credential that identifies the provider account.
	externalID string
}

// credentialSpecs: the credential names per provider and channel, exactly.
var credentialSpecs = map[string]credentialSpec{
	"meta/whatsapp":      {required: []string{"access_token", "app_secret", "phone_number_id", "waba_id"}, externalID: "phone_number_id"},
	"meta/messenger":     {required: []string{"access_token", "app_secret", "page_id"}, externalID: "page_id"},
	"meta/instagram":     {required: []string{"access_token", "app_secret", "ig_account_id"}, externalID: "ig_account_id"},
	"uazapi/whatsapp":    {required: []string{"base_url", "instance_token"}},
	"evolution/whatsapp": {required: []string{"base_url", "api_key", "instance"}, externalID: "instance"},
	// The sandbox's credentials are generated, never given.
	"sandbox/whatsapp": {externalID: "phone_number_id"},
}

// CredentialNames lists the credentials a provider/channel takes.
func CredentialNames(provider, channel string) ([]string, bool) {
	spec, ok := credentialSpecs[provider+"/"+channel]
	return spec.required, ok
}

// NewConnection is a connection to create, as a tenant admin gives it.
type NewConnection struct {
	Channel     string
	Provider    string
	Credentials map[string]string
	Settings    map[string]any
	// SandboxBaseURL is the server's public base URL, for a sandbox
	// connection's graph_base_url ({base}/sandbox/graph).
	SandboxBaseURL string
}

// Prepared is a new connection checked and completed by its provider's
// rules, ready to be stored: its id (a sandbox's access token names it), its
// first status, the credential naming the provider account.
type Prepared struct {
	ID          uuid.UUID
	Channel     string
	Provider    string
	Status      string
	ExternalID  string
	Credentials map[string]string
	Settings    map[string]any
	// AppSecret is a sandbox connection's generated app secret: shown once,
	// in the create answer.
	AppSecret string
}

// Prepare validates a new connection. A sandbox connection gets generated
// credentials and its graph base URL pointing at this server's sandbox.
func Prepare(in NewConnection) (Prepared, error) {
	fields := crm.FieldErrors{}
	spec, ok := credentialSpecs[in.Provider+"/"+in.Channel]
	switch {
	case in.Channel != "whatsapp" && in.Channel != "messenger" && in.Channel != "instagram":
		fields.Add("channel", "must be whatsapp, messenger or instagram")
	case in.Provider != Meta && in.Provider != UazAPI && in.Provider != Evolution && in.Provider != Sandbox:
		fields.Add("provider", "must be meta, uazapi, evolution or sandbox")
	case !ok:
		fields.Add("provider", "%s serves whatsapp only", in.Provider)
	}
	creds := map[string]string{}
	for k, v := range in.Credentials {
		creds[k] = strings.TrimSpace(v)
	}
	settings := map[string]any{}
	for k, v := range in.Settings {
		if v != nil {
			settings[k] = v
		}
	}
	id := crm.NewID()
	var appSecret string
	if ok {
		if in.Provider == Sandbox {
			if len(in.Credentials) > 0 {
				fields.Add("credentials", "a sandbox connection's credentials are generated; send none")
			}
			appSecret = randomHex(24)
			creds = map[string]string{"access_token": SandboxAccessTokenPrefix + id.String() + "." + randomHex(24), "app_secret": appSecret,
				"phone_number_id": randomDigits(15), "waba_id": randomDigits(15)}
			if _, given := settings["graph_base_url"]; !given && in.SandboxBaseURL != "" {
				settings["graph_base_url"] = SandboxGraphURL(in.SandboxBaseURL)
			}
		} else {
			validateCredentials(fields, spec, creds)
		}
	}
	validateSettings(fields, settings)
	if err := fields.Err(); err != nil {
		return Prepared{}, err
	}
	if in.Provider == Sandbox {
		if _, set := settings["graph_base_url"]; !set {
			return Prepared{}, crm.NewError(crm.ErrInvalid, "validation_failed", "some fields are invalid",
				map[string]any{"fields": map[string]any{"settings.graph_base_url": "is required: the server's public URL is unknown"}})
		}
	}
	status := "disconnected"
	if in.Provider == Sandbox {
		status = "connected"
	}
	return Prepared{ID: id, Channel: in.Channel, Provider: in.Provider, Status: status, ExternalID: creds[spec.externalID],
		Credentials: creds, Settings: settings, AppSecret: appSecret}, nil
}

// Patch applies a change to a stored connection, its credentials opened:
// credentials merged key by key and checked as a whole (an empty value
// removes nothing: every credential is required; a sandbox's are generated,
// none may be sent), settings merged (a nil value removes the setting), the
// external id following the credential that names the account.
func Patch(c *crm.ConnectionSecrets, credentials map[string]string, settings map[string]any) error {
	fields := crm.FieldErrors{}
	spec := credentialSpecs[c.Provider+"/"+c.Channel]
	if len(credentials) > 0 {
		if c.Provider == Sandbox {
			fields.Add("credentials", "a sandbox connection's credentials are generated; send none")
		} else {
			if c.Credentials == nil {
				c.Credentials = map[string]string{}
			}
			for k, v := range credentials {
				c.Credentials[k] = strings.TrimSpace(v)
			}
			validateCredentials(fields, spec, c.Credentials)
		}
	}
	merged := map[string]any{}
	for k, v := range c.Settings {
		merged[k] = v
	}
	for k, v := range settings {
		if v == nil {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	validateSettings(fields, settings)
	if err := fields.Err(); err != nil {
		return err
	}
	c.Settings = merged
	if spec.externalID != "" {
		c.ExternalID = c.Credentials[spec.externalID]
	}
	return nil
}

var (
	apiVersionPattern = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,3}$`)
	idCredential      = regexp.MustCompile(`^[0-9A-Za-z_.-]{1,64}$`)
)

// settingKinds: the settings a connection may carry and their JSON kinds.
var settingKinds = map[string]string{
	"graph_base_url":       "url",
	"api_version":          "api_version",
	"timeout_seconds":      "number",
	"display_phone_number": "string",
	// Sandbox behaviour (channels/sandbox): delays of the sent, delivered
	// and read status webhooks, and an injected failure.
	"sandbox_status_delays_ms": "numbers",
	"sandbox_failure":          "string",
}

func validateSettings(fields crm.FieldErrors, settings map[string]any) {
	raw, err := json.Marshal(settings)
	if err != nil {
		fields.Add("settings", "must be JSON: %v", err)
		return
	}
	if len(raw) > 8<<10 {
		fields.Add("settings", "must be at most 8 KiB of JSON")
		return
	}
	for k, v := range settings {
		field := "settings." + k
		kind, ok := settingKinds[k]
		if !ok {
			fields.Add(field, "unknown setting")
			continue
		}
		if v == nil {
			continue
		}
		switch kind {
		case "url":
			s, _ := v.(string)
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
				fields.Add(field, "must be an http(s) URL")
			}
		case "api_version":
			if s, _ := v.(string); !apiVersionPattern.MatchString(s) {
				fields.Add(field, "must look like v21.0")
			}
		case "number":
			if n, ok := v.(float64); !ok || n <= 0 || n > 300 {
				fields.Add(field, "must be a number from 1 to 300")
			}
		case "string":
			if s, ok := v.(string); !ok || len(s) > 100 {
				fields.Add(field, "must be a string of at most 100 characters")
			}
		case "numbers":
			list, ok := v.([]any)
			if !ok || len(list) > 3 {
				fields.Add(field, "must be up to 3 numbers")
				continue
			}
			for _, item := range list {
				if n, ok := item.(float64); !ok || n < 0 || n > 600000 {
					fields.Add(field, "must be up to 3 numbers from 0 to 600000")
				}
			}
		}
	}
}

// validateCredentials checks a full credential set against its spec.
func validateCredentials(fields crm.FieldErrors, spec credentialSpec, creds map[string]string) {
	allowed := map[string]bool{}
	for _, name := range spec.required {
		allowed[name] = true
		v := strings.TrimSpace(creds[name])
		switch {
		case v == "":
			fields.Add("credentials."+name, "is required")
		case len(v) > 4096:
			fields.Add("credentials."+name, "must have at most 4096 characters")
		case name == "base_url":
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				fields.Add("credentials."+name, "must be an http(s) URL")
			}
		case strings.HasSuffix(name, "_id") || name == "instance":
			if !idCredential.MatchString(v) {
				fields.Add("credentials."+name, "must be an id of letters, digits, _ . -")
			}
		}
	}
	for name := range creds {
		if !allowed[name] {
			fields.Add("credentials."+name, "unknown credential for this provider")
		}
	}
}

// SandboxAccessTokenPrefix starts a sandbox connection's generated access
// token, which is "sbx." + connection id + "." + random: the sandbox finds
// the connection from the bearer token alone, as Graph does.
const SandboxAccessTokenPrefix = "sbx."

// SandboxConnectionID reads the connection id out of a sandbox access token
// (the caller still compares the whole token).
func SandboxConnectionID(accessToken string) (uuid.UUID, bool) {
	rest, ok := strings.CutPrefix(accessToken, SandboxAccessTokenPrefix)
	if !ok || len(rest) < 37 || rest[36] != '.' {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(rest[:36])
	return id, err == nil
}

// SandboxGraphURL is the sandbox's Graph-compatible endpoint on the server
// at base.
func SandboxGraphURL(base string) string {
	return strings.TrimRight(base, "/") + "/sandbox/graph"
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func randomDigits(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err)
		}
		if i == 0 && d.Int64() == 0 {
			d = big.NewInt(1)
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}
