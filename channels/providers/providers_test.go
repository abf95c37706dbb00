package providers

import (
	"testing"

	"crm/channels"
	crmpb "crm/proto"
)

func TestNew(t *testing.T) {
	t.Parallel()
	ok := []Config{
		{Provider: Meta, Channel: crmpb.Channel_CHANNEL_WHATSAPP},
		{Provider: Meta, Channel: crmpb.Channel_CHANNEL_MESSENGER},
		{Provider: Meta, Channel: crmpb.Channel_CHANNEL_INSTAGRAM},
		{Provider: Sandbox, Settings: channels.Settings{GraphBaseURL: "http://127.0.0.1:9"}},
		{Provider: UazAPI, Channel: crmpb.Channel_CHANNEL_WHATSAPP, Credentials: channels.Credentials{BaseURL: "https://x.uazapi.com", InstanceToken: "t"}},
		{Provider: Evolution, Credentials: channels.Credentials{BaseURL: "https://evo.example.com", InstanceName: "i", InstanceToken: "k"}},
	}
	for _, cfg := range ok {
		p, err := New(cfg)
		if err != nil {
			t.Errorf("%s/%v: %v", cfg.Provider, cfg.Channel, err)
			continue
		}
		want := cfg.Channel
		if want == crmpb.Channel_CHANNEL_UNSPECIFIED {
			want = crmpb.Channel_CHANNEL_WHATSAPP
		}
		if p.Channel() != want {
			t.Errorf("%s: channel %v, want %v", cfg.Provider, p.Channel(), want)
		}
	}
	bad := []Config{
		{Provider: "telegram"},
		{Provider: Sandbox},
		{Provider: Meta},
		{Provider: UazAPI, Channel: crmpb.Channel_CHANNEL_INSTAGRAM, Credentials: channels.Credentials{BaseURL: "https://x", InstanceToken: "t"}},
		{Provider: UazAPI, Credentials: channels.Credentials{BaseURL: "not a url", InstanceToken: "t"}},
		{Provider: Evolution, Credentials: channels.Credentials{BaseURL: "https://evo.example.com"}},
	}
	for _, cfg := range bad {
		if _, err := New(cfg); err == nil {
			t.Errorf("%+v: want an error", cfg.Provider)
		}
	}
	if c, err := ChannelFromName("instagram"); err != nil || c != crmpb.Channel_CHANNEL_INSTAGRAM {
		t.Errorf("ChannelFromName: %v %v", c, err)
	}
}
