package channels

import (
	"encoding/json"
	"fmt"
)

// ParseTemplateJSON reads a template in WhatsApp's wire format (the
// "template" object of a send: {name, language: {code}, components}), as the
// engine stores it, into a TemplateMessage.
func ParseTemplateJSON(b []byte) (*TemplateMessage, error) {
	type media struct {
		ID       string `json:"id"`
		Link     string `json:"link"`
		Filename string `json:"filename"`
	}
	var wire struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []struct {
			Type       string     `json:"type"`
			SubType    string     `json:"sub_type"`
			Index      FlexString `json:"index"`
			Parameters []struct {
				Type          string `json:"type"`
				ParameterName string `json:"parameter_name"`
				Text          string `json:"text"`
				Payload       string `json:"payload"`
				Currency      *struct {
					FallbackValue string `json:"fallback_value"`
					Code          string `json:"code"`
					Amount1000    int64  `json:"amount_1000"`
				} `json:"currency"`
				DateTime *struct {
					FallbackValue string `json:"fallback_value"`
				} `json:"date_time"`
				Image    *media `json:"image"`
				Document *media `json:"document"`
				Video    *media `json:"video"`
			} `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &wire); err != nil {
		return nil, fmt.Errorf("template json: %w", err)
	}
	if wire.Name == "" || wire.Language.Code == "" {
		return nil, fmt.Errorf("template json: name and language.code are required")
	}
	t := &TemplateMessage{Name: wire.Name, LanguageCode: wire.Language.Code}
	for _, c := range wire.Components {
		comp := TemplateComponent{Type: c.Type, SubType: c.SubType}
		if c.Index != "" {
			i := int(c.Index.Int64())
			comp.Index = &i
		}
		for _, p := range c.Parameters {
			prm := TemplateParameter{Type: p.Type, Name: p.ParameterName, Text: p.Text, Payload: p.Payload}
			if p.Currency != nil {
				prm.Currency = &TemplateCurrency{FallbackValue: p.Currency.FallbackValue, Code: p.Currency.Code, Amount1000: p.Currency.Amount1000}
			}
			if p.DateTime != nil {
				prm.DateTime = p.DateTime.FallbackValue
			}
			for _, m := range []*media{p.Image, p.Document, p.Video} {
				if m != nil {
					prm.Media = &OutboundMedia{ID: m.ID, Link: m.Link, Filename: m.Filename}
				}
			}
			comp.Parameters = append(comp.Parameters, prm)
		}
		t.Components = append(t.Components, comp)
	}
	return t, nil
}
