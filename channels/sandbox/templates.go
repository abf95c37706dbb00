package sandbox

import (
	"net/http"
	"regexp"
)

// sandboxTemplate is a template as Graph lists it.
type sandboxTemplate struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Language   string              `json:"language"`
	Status     string              `json:"status"`
	Category   string              `json:"category"`
	Components []templateComponent `json:"components"`
}

type templateComponent struct {
	Type    string           `json:"type"`
	Format  string           `json:"format,omitempty"`
	Text    string           `json:"text,omitempty"`
	Example map[string]any   `json:"example,omitempty"`
	Buttons []map[string]any `json:"buttons,omitempty"`
}

// templates are the sandbox account's approved templates.
var templates = []sandboxTemplate{
	{ID: "900000000000001", Name: "boas_vindas", Language: "pt_BR", Status: "APPROVED", Category: "UTILITY",
		Components: []templateComponent{
			{Type: "BODY", Text: "Olá! Seja bem-vindo(a). Como podemos ajudar?"},
		}},
	{ID: "900000000000002", Name: "lembrete_consulta", Language: "pt_BR", Status: "APPROVED", Category: "UTILITY",
		Components: []templateComponent{
			{Type: "HEADER", Format: "TEXT", Text: "Lembrete de consulta"},
			{Type: "BODY", Text: "Olá {{1}}, sua consulta está marcada para {{2}}. Responda SIM para confirmar.",
				Example: map[string]any{"body_text": [][]string{{"Maria", "12/03 às 14h"}}}},
			{Type: "FOOTER", Text: "Não responda se já confirmou."},
			{Type: "BUTTONS", Buttons: []map[string]any{
				{"type": "QUICK_REPLY", "text": "SIM"}, {"type": "QUICK_REPLY", "text": "Remarcar"}}},
		}},
	{ID: "900000000000003", Name: "pedido_enviado", Language: "pt_BR", Status: "APPROVED", Category: "UTILITY",
		Components: []templateComponent{
			{Type: "BODY", Text: "Seu pedido {{1}} foi enviado e chega em {{2}} dias.",
				Example: map[string]any{"body_text": [][]string{{"#1234", "3"}}}},
		}},
	{ID: "900000000000004", Name: "promo_mensal", Language: "pt_BR", Status: "REJECTED", Category: "MARKETING",
		Components: []templateComponent{{Type: "BODY", Text: "Promoção do mês!"}}},
}

var placeholder = regexp.MustCompile(`\{\{[0-9]+\}\}`)

// checkTemplate answers Meta's template errors: unknown or unapproved name
// or language (132001), wrong number of body parameters (132000).
func checkTemplate(req *sendRequest) *GraphError {
	t := req.Template
	if t == nil || t.Name == "" || t.Language.Code == "" {
		return invalidParameter("Param template must have a name and language['code'].")
	}
	for _, tpl := range templates {
		if tpl.Name != t.Name || tpl.Language != t.Language.Code || tpl.Status != "APPROVED" {
			continue
		}
		want := 0
		for _, c := range tpl.Components {
			if c.Type == "BODY" {
				want = len(placeholder.FindAllString(c.Text, -1))
			}
		}
		got := 0
		for _, c := range t.Components {
			if c.Type == "body" || c.Type == "BODY" {
				got = len(c.Parameters)
			}
		}
		if got != want {
			return graphError(http.StatusBadRequest, 132000, "(#132000) Number of parameters does not match the expected number of params",
				"body: number of localizable_params does not match the expected number of params")
		}
		return nil
	}
	return graphError(http.StatusBadRequest, 132001, "(#132001) Template name does not exist in the translation",
		"template name ("+t.Name+") does not exist in "+t.Language.Code)
}
