import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRouter } from 'react-router';
import { useAuth } from '../store/auth';
import { MessageHits } from './Inbox';

function respond(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

let fetchMock: ReturnType<typeof vi.fn>;
beforeEach(() => {
  useAuth.setState({ accessToken: 'tok', user: { id: 'me', tenant_id: 't', name: 'Ana', email: 'ana@x', role: 'AGENT' } as never });
  fetchMock = vi.fn();
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

function show(q: string) {
  render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter><MessageHits q={q} /></MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('the search box finds message text', () => {
  it('lists the hits, each opening its conversation at the message', async () => {
    fetchMock.mockResolvedValueOnce(respond(200, {
      items: [{
        message: { id: 'm-7', conversation_id: 'c-1', seq: 7, direction: 'inbound', type: 'text', text: 'Minha encomenda não chegou', status: 'received', created_at: new Date().toISOString() },
        conversation: { id: 'c-1', connection_id: 'k', contact_id: 'ct', contact: { id: 'ct', name: 'João', phone: '+5511987654321' }, status: 'open', assignee_id: null, team_id: null, label_ids: [] },
      }],
      next_cursor: null,
    }));
    show('encomenda');
    const hit = await screen.findByTestId('message-hit');
    expect(hit.getAttribute('href')).toBe('/inbox/c-1?m=m-7&seq=7');
    expect(hit.textContent).toContain('João');
    expect(hit.textContent).toContain('Minha encomenda não chegou');
    const url = new URL(String(fetchMock.mock.calls[0][0]), 'http://x');
    expect(url.pathname).toBe('/api/v1/messages/search');
    expect(url.searchParams.get('q')).toBe('encomenda');
    expect(screen.getByText('Mensagens')).toBeTruthy();
  });

  it('says when no message has the words', async () => {
    fetchMock.mockResolvedValueOnce(respond(200, { items: [], next_cursor: null }));
    show('xilofone');
    expect(await screen.findByText('Nenhuma mensagem com essas palavras')).toBeTruthy();
  });

  it('waits for two characters before asking', () => {
    show('x');
    expect(fetchMock).not.toHaveBeenCalled();
    expect(screen.queryByTestId('message-hits')).toBeNull();
  });
});
