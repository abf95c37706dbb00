package crm

import "testing"

func TestIsOptOut(t *testing.T) {
	var defaults TenantState
	for text, want := range map[string]bool{
		"Parar!": true, "  stop ": true, "CANCELAR.": true, "sáir": true, "Sair 🙏": false,
		"quero parar de receber": false, "": false, "parar parar parar parar parar parar": false, "oi": false,
	} {
		if got := defaults.IsOptOut(text); got != want {
			t.Errorf("default keywords: IsOptOut(%q) = %v, want %v", text, got, want)
		}
	}
	own := TenantState{OptOutKeywords: []string{"Descadastrar", "não quero"}}
	for text, want := range map[string]bool{"DESCADASTRAR": true, "Nao quero!": true, "stop": false} {
		if got := own.IsOptOut(text); got != want {
			t.Errorf("own keywords: IsOptOut(%q) = %v, want %v", text, got, want)
		}
	}
}
