import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import ConnectionsSettings from './Connections';

function respond(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

let fetchMock: ReturnType<typeof vi.fn>;
let defaultTeam: string | null = null;
beforeEach(() => {
  defaultTeam = null;
  fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://x');
    if (url.pathname === '/api/v1/connections') return respond(200, { items: [{ id: 'k1', name: 'Loja', channel: 'whatsapp', provider: 'sandbox', status: 'connected', default_team_id: defaultTeam }], next_cursor: null });
    if (url.pathname === '/api/v1/teams') return respond(200, { items: [{ id: 'tm1', name: 'Vendas', description: '', member_ids: [] }], next_cursor: null });
    if (url.pathname === '/api/v1/connections/k1/default-team' && init?.method === 'PUT') {
      defaultTeam = JSON.parse(String(init.body)).team_id;
      return respond(200, { connection_id: 'k1', default_team_id: defaultTeam });
    }
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

describe('a connection\'s default team', () => {
  it('is chosen per connection and cleared with "Nenhuma"', async () => {
    render(<QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}><MemoryRouter><ConnectionsSettings canWrite /></MemoryRouter></QueryClientProvider>);
    const select = await screen.findByLabelText('Equipe padrão') as HTMLSelectElement;
    await waitFor(() => expect(select.options.length).toBe(2));
    expect(select.value).toBe('');
    fireEvent.change(select, { target: { value: 'tm1' } });
    await waitFor(() => expect(select.value).toBe('tm1'));
    fireEvent.change(select, { target: { value: '' } });
    await waitFor(() => expect(select.value).toBe(''));
    const puts = fetchMock.mock.calls.filter(([u, i]) => String(u).includes('/default-team') && i?.method === 'PUT').map(([, i]) => JSON.parse(String(i!.body)));
    expect(puts).toEqual([{ team_id: 'tm1' }, { team_id: null }]);
  });
});
