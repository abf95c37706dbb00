// WhatsApp message templates: reading their components, filling body
// parameters ({{1}}, {{2}}…) and building the send body Meta expects.
import type { MessageTemplate, TemplateComponent } from '../api/types';

const PLACEHOLDER = /\{\{\s*(\d+)\s*\}\}/g;

export function component(t: MessageTemplate, type: string): TemplateComponent | undefined {
  return (t.components ?? []).find((c) => (c.type ?? '').toUpperCase() === type);
}

/** The numbers of the body's placeholders, in order: "{{1}} … {{2}}" → [1, 2]. */
export function bodyParams(t: MessageTemplate): number[] {
  const text = component(t, 'BODY')?.text ?? '';
  const seen = new Set<number>();
  for (const m of text.matchAll(PLACEHOLDER)) seen.add(Number(m[1]));
  return [...seen].sort((a, b) => a - b);
}

/** Meta's example values for the body, when the template has them. */
export function bodyExamples(t: MessageTemplate): string[] {
  const ex = component(t, 'BODY')?.example?.body_text;
  return Array.isArray(ex) && Array.isArray(ex[0]) ? ex[0].map(String) : [];
}

/** Puts the values in place of {{n}}; an empty value shows the placeholder. */
export function fill(text: string, values: string[]): string {
  return text.replace(PLACEHOLDER, (whole, n) => {
    const v = values[Number(n) - 1];
    return v && v.trim() ? v : whole;
  });
}

/** The template message text as the customer will read it (header, body, footer). */
export function previewText(t: MessageTemplate, values: string[]): string {
  return [component(t, 'HEADER')?.text, fill(component(t, 'BODY')?.text ?? '', values), component(t, 'FOOTER')?.text]
    .filter((x): x is string => !!x && !!x.trim())
    .join('\n\n');
}

/** Only approved templates can be sent. */
export function sendable(t: MessageTemplate): boolean {
  return !t.status || t.status.toUpperCase() === 'APPROVED';
}

/** The `template` object of POST /conversations/:id/messages (Meta's shape). */
export function templatePayload(t: MessageTemplate, values: string[]) {
  const params = bodyParams(t);
  return {
    name: t.name,
    language: { code: t.language },
    components: params.length ? [{ type: 'body', parameters: params.map((n) => ({ type: 'text', text: (values[n - 1] ?? '').trim() })) }] : [],
  };
}
