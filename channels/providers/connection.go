package providers

import (
	"time"

	"crm"
	"crm/channels"
)

// CredentialsOf maps a connection's stored credential names onto the
// adapters' Credentials (Evolution's api_key is its instance token).
func CredentialsOf(sec crm.ConnectionSecrets) channels.Credentials {
	c := sec.Credentials
	return channels.Credentials{
		AccessToken:   c["access_token"],
		AppSecret:     c["app_secret"],
		VerifyToken:   sec.VerifyToken,
		PhoneNumberID: c["phone_number_id"],
		WABAID:        c["waba_id"],
		PageID:        c["page_id"],
		IGAccountID:   c["ig_account_id"],
		BaseURL:       c["base_url"],
		InstanceName:  c["instance"],
		InstanceToken: firstNonEmpty(c["instance_token"], c["api_key"]),
		WebhookSecret: sec.WebhookSecret,
	}
}

// SettingsOf maps a connection's stored settings onto the adapters' Settings.
func SettingsOf(sec crm.ConnectionSecrets) channels.Settings {
	out := channels.Settings{}
	out.GraphBaseURL, _ = sec.Settings["graph_base_url"].(string)
	out.APIVersion, _ = sec.Settings["api_version"].(string)
	if secs, ok := sec.Settings["timeout_seconds"].(float64); ok && secs > 0 {
		out.Timeout = time.Duration(secs * float64(time.Second))
	}
	return out
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
