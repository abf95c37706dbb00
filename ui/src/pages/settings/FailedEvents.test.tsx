import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeadLetter } from '../../api/types';
import FailedEventsSettings from './FailedEvents';

const respond = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const poison: DeadLetter = {
  id: 'ev-1', connection_id: 'conn-1', provider: 'meta', kind: 'message', dedupe_key: 'wamid.poison', attempts: 10,
  last_error: 'conversation grain: internal: poisoned message', received_at: '2026-11-28T12:00:00Z', dead_at: '2026-11-28T12:11:00Z',
  contact: 'Vera', preview: 'veneno',
};

let fetchMock: ReturnType<typeof vi.fn>;
let dead: DeadLetter[];

beforeEach(() => {
  dead = [poison];
  fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    if (String(url).startsWith('/api/v1/inbox/dead-letters/ev-1/retry') && init?.method === 'POST') {
      dead = [];
      return respond(202, { id: 'ev-1', status: 'pending' });
    }
    if (String(url).startsWith('/api/v1/inbox/dead-letters')) return respond(200, { items: dead, next_cursor: null });
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

describe('Eventos com falha', () => {
  it('lists the dead letters and puts one back in the queue', async () => {
    render(<QueryClientProvider client={new QueryClient()}><FailedEventsSettings /></QueryClientProvider>);
    const rows = await screen.findByTestId('dead-letters');
    expect(rows.textContent).toContain('Vera');
    expect(rows.textContent).toContain('Mensagem');
    expect(rows.textContent).toContain('veneno');
    expect(rows.textContent).toContain('poisoned message');
    expect(rows.textContent).toContain('10');
    expect(screen.getByText('Eventos com falha')).toBeTruthy();

    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Tentar de novo o evento de Vera' }));
    });
    const retried = fetchMock.mock.calls.find(([, init]) => init?.method === 'POST');
    expect(retried?.[0]).toBe('/api/v1/inbox/dead-letters/ev-1/retry');
    await screen.findByText('Evento devolvido à fila; ele será processado em instantes.');
    await waitFor(() => expect(screen.getByText('Nenhum evento com falha')).toBeTruthy());
  });

  it('says when nothing failed', async () => {
    dead = [];
    render(<QueryClientProvider client={new QueryClient()}><FailedEventsSettings /></QueryClientProvider>);
    await screen.findByText('Nenhum evento com falha');
    expect(String(fetchMock.mock.calls[0][0])).toContain('/api/v1/inbox/dead-letters');
  });
});
