import { describe, expect, it } from 'vitest';
import type { OutboxEntry } from '../../api/types';
import { outboxButtons, outboxSummary } from './SandboxPhone';

const entry = (type: string, request: Record<string, unknown>): OutboxEntry => ({ message_id: 'wamid.1', to: '5511987654321', type, request, statuses: ['sent'] });

describe('sandbox phone: what the business sent', () => {
  it("summarises Meta's request JSON per type", () => {
    expect(outboxSummary(entry('text', { text: { body: 'Olá!' } }))).toBe('Olá!');
    expect(outboxSummary(entry('template', { template: { name: 'lembrete_consulta', components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }, { type: 'text', text: 'sexta' }] }] } })))
      .toBe('lembrete_consulta (Ana, sexta)');
    expect(outboxSummary(entry('location', { location: { latitude: 1, longitude: 2, name: 'Loja' } }))).toBe('📍 Loja');
    expect(outboxSummary(entry('document', { document: { filename: 'nota.pdf', caption: 'segue' } }))).toBe('nota.pdf · segue');
  });
  it('offers the reply buttons and list rows the customer can tap', () => {
    expect(outboxButtons(entry('interactive', { interactive: { type: 'button', body: { text: '?' }, action: { buttons: [{ type: 'reply', reply: { id: 'sim', title: 'Sim' } }] } } })))
      .toEqual([{ id: 'sim', title: 'Sim', kind: 'interactive' }]);
    expect(outboxButtons(entry('interactive', { interactive: { type: 'list', action: { sections: [{ rows: [{ id: 'r1', title: 'Entrega' }] }] } } })).map((b) => b.id)).toEqual(['r1']);
    expect(outboxButtons(entry('text', { text: { body: 'x' } }))).toEqual([]);
  });
});
