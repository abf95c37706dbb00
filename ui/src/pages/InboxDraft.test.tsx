import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRouter, Route, Routes, useNavigate } from 'react-router';
import type { Conversation } from '../api/types';
import { useAuth } from '../store/auth';
import InboxPage from './Inbox';

function respond(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

const conv = (id: string, name: string): Conversation => ({
  id, connection_id: 'k', contact_id: `ct-${id}`, contact: { id: `ct-${id}`, name, phone: '+5511987654321' }, channel: 'whatsapp',
  status: 'open', assignee_id: 'me', team_id: null, label_ids: [], last_message_preview: 'oi', last_message_direction: 'inbound',
  last_message_at: new Date().toISOString(), window_expires_at: new Date(Date.now() + 3_600_000).toISOString(),
} as Conversation);

let sent: unknown[] = [];
let go: (path: string) => void = () => undefined;
function Navigator() {
  const navigate = useNavigate();
  go = navigate;
  return null;
}

function mount(path: string) {
  return render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter initialEntries={[path]}>
        <Navigator />
        <Routes><Route path="/inbox/:conversationId?" element={<InboxPage />} /></Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

beforeEach(() => {
  localStorage.clear();
  sent = [];
  useAuth.setState({ accessToken: 'a', user: { id: 'me', tenant_id: 't', name: 'Ana', email: 'ana@x', role: 'AGENT' } as never });
  vi.stubGlobal('fetch', vi.fn(async (url: string, init?: RequestInit) => {
    const path = String(url).split('?')[0];
    const m = /^\/api\/v1\/conversations\/(c\d)$/.exec(path);
    if (m) return respond(200, conv(m[1], m[1] === 'c1' ? 'Maria' : 'João'));
    if (/\/messages$/.test(path) && init?.method === 'POST') {
      const body = JSON.parse(String(init.body));
      sent.push(body);
      return respond(202, { id: 'm-new', conversation_id: 'c1', seq: 9, direction: 'outbound', type: 'text', text: body.text, status: 'pending',
        created_at: new Date().toISOString(), idempotency_key: body.idempotency_key });
    }
    return respond(200, { items: [], next_cursor: null });
  }));
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const composer = () => screen.findByRole('textbox', { name: 'Mensagem (/ para respostas rápidas)' }) as Promise<HTMLTextAreaElement>;

describe('composer drafts', () => {
  it('keep an unsent text per conversation across switching and reloading, and clear it on send', async () => {
    const first = mount('/inbox/c1');
    fireEvent.change(await composer(), { target: { value: 'Bom dia, Maria! Seu pedido' } });

    await act(async () => { go('/inbox/c2'); });
    await waitFor(async () => expect((await composer()).value).toBe(''));
    fireEvent.change(await composer(), { target: { value: 'Oi João' } });

    await act(async () => { go('/inbox/c1'); });
    await waitFor(async () => expect((await composer()).value).toBe('Bom dia, Maria! Seu pedido'));

    // a reload: a fresh page on the same browser
    first.unmount();
    mount('/inbox/c2');
    await waitFor(async () => expect((await composer()).value).toBe('Oi João'));

    fireEvent.keyDown(await composer(), { key: 'Enter' });
    await waitFor(() => expect(sent).toHaveLength(1));
    await waitFor(async () => expect((await composer()).value).toBe(''));
    expect(Object.keys(localStorage).filter((k) => k.includes('c2'))).toEqual([]);
    expect(localStorage.getItem('crm.draft.me.c1')).toBe('Bom dia, Maria! Seu pedido');
  });
});
