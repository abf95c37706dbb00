import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OutboxEntry } from '../../api/types';
import SandboxPhone, { outboxButtons, outboxSummary } from './SandboxPhone';

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

describe("sandbox phone: the customer's own messages", () => {
  beforeEach(() => {
    localStorage.clear();
    vi.stubGlobal('fetch', vi.fn(async (url: string, init?: RequestInit) => {
      const path = String(url);
      const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
      if (path.endsWith('/inbound') && init?.method === 'POST') return json({ message_id: 'wamid.in.1' });
      if (path.includes('/outbox')) return json({ items: [] });
      return json({ id: 'k1', name: 'Sandbox', provider: 'sandbox', channel: 'whatsapp' });
    }));
  });
  afterEach(() => vi.unstubAllGlobals());

  const mount = () => render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter><SandboxPhone connectionId="k1" embedded /></MemoryRouter>
    </QueryClientProvider>,
  );

  it('are still on the phone after a reload', async () => {
    const first = mount();
    fireEvent.change(screen.getByTestId('phone-text'), { target: { value: 'Oi, vocês abrem sábado?' } });
    await act(async () => { fireEvent.click(screen.getByTestId('phone-send')); });
    expect(await screen.findByText('Oi, vocês abrem sábado?')).toBeTruthy();

    first.unmount();
    mount();
    const sent = await screen.findAllByTestId('phone-sent');
    expect(sent.map((x) => x.textContent)).toEqual([expect.stringContaining('Oi, vocês abrem sábado?')]);
  });
});
