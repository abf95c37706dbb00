import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Message, MessageTemplate } from '../api/types';
import { bodyParams, fill, previewText, templatePayload } from '../lib/templates';
import { withLocals } from '../pages/Inbox';
import { TemplatePicker } from './TemplatePicker';

const lembrete: MessageTemplate = {
  id: '2', name: 'lembrete_consulta', language: 'pt_BR', status: 'APPROVED', category: 'UTILITY',
  components: [
    { type: 'HEADER', format: 'TEXT', text: 'Lembrete de consulta' },
    { type: 'BODY', text: 'Olá {{1}}, sua consulta está marcada para {{2}}. Responda SIM para confirmar.', example: { body_text: [['Maria', '12/03 às 14h']] } },
    { type: 'FOOTER', text: 'Não responda se já confirmou.' },
    { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'SIM' }] },
  ],
};
const templates: MessageTemplate[] = [
  { id: '1', name: 'boas_vindas', language: 'pt_BR', status: 'APPROVED', category: 'UTILITY', components: [{ type: 'BODY', text: 'Olá! Seja bem-vindo(a).' }] },
  lembrete,
  { id: '4', name: 'promo_mensal', language: 'pt_BR', status: 'REJECTED', category: 'MARKETING', components: [{ type: 'BODY', text: 'Promoção!' }] },
];

describe('template helpers', () => {
  it('finds the body parameters and fills them', () => {
    expect(bodyParams(lembrete)).toEqual([1, 2]);
    expect(fill('Olá {{1}}, às {{2}}', ['Ana'])).toBe('Olá Ana, às {{2}}');
    expect(previewText(lembrete, ['Ana', 'amanhã'])).toBe('Lembrete de consulta\n\nOlá Ana, sua consulta está marcada para amanhã. Responda SIM para confirmar.\n\nNão responda se já confirmou.');
  });
  it("builds Meta's template object", () => {
    expect(templatePayload(lembrete, [' Ana ', 'amanhã'])).toEqual({
      name: 'lembrete_consulta', language: { code: 'pt_BR' },
      components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }, { type: 'text', text: 'amanhã' }] }],
    });
    expect(templatePayload(templates[0], []).components).toEqual([]);
  });
});

describe('optimistic bubbles', () => {
  const m = (id: string, seq: number, key?: string): Message => ({ id, conversation_id: 'c', seq, direction: 'outbound', type: 'text', status: 'sent', created_at: '2026-11-28T12:00:00Z', idempotency_key: key });
  it('shows a pending bubble after the loaded messages until the server returns its key', () => {
    const local = { message: { ...m('local-k1', 0, 'k1'), status: 'pending' as const, local: true }, body: { type: 'text', text: 'oi', idempotency_key: 'k1' } };
    const shown = withLocals([m('a', 1), m('b', 2)], [local]);
    expect(shown.map((x) => x.id)).toEqual(['a', 'b', 'local-k1']);
    expect(shown[2].seq).toBeGreaterThan(2);
    expect(withLocals([m('a', 1), m('b', 2, 'k1')], [local]).map((x) => x.id)).toEqual(['a', 'b']);
  });
});

describe('TemplatePicker', () => {
  let fetchMock: ReturnType<typeof vi.fn>;
  beforeEach(() => {
    fetchMock = vi.fn(async () => new Response(JSON.stringify({ items: templates }), { status: 200, headers: { 'Content-Type': 'application/json' } }));
    vi.stubGlobal('fetch', fetchMock);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('lists approved templates, fills parameters, previews and sends', async () => {
    const onSend = vi.fn();
    render(<QueryClientProvider client={new QueryClient()}><TemplatePicker connectionId="conn-1" windowClosed onSend={onSend} /></QueryClientProvider>);
    await waitFor(() => expect(screen.getAllByTestId('template-option')).toHaveLength(2));
    expect(String(fetchMock.mock.calls[0][0])).toContain('/api/v1/connections/conn-1/templates');
    expect(screen.getByText(/janela de 24h está fechada/)).toBeTruthy();
    expect(screen.queryByText('promo_mensal')).toBeNull();
    fireEvent.click(screen.getByText('lembrete_consulta'));
    const send = screen.getByTestId('send-template') as HTMLButtonElement;
    expect(send.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText('Parâmetro 1'), { target: { value: 'Ana' } });
    fireEvent.change(screen.getByLabelText('Parâmetro 2'), { target: { value: 'sexta às 10h' } });
    expect(screen.getByTestId('template-preview').textContent).toContain('Olá Ana, sua consulta está marcada para sexta às 10h.');
    fireEvent.click(send);
    expect(onSend).toHaveBeenCalledWith(templatePayload(lembrete, ['Ana', 'sexta às 10h']), expect.stringContaining('Olá Ana'));
  });
});
