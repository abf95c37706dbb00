import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRouter, Route, Routes } from 'react-router';
import type { Conversation, QuickReply } from '../api/types';
import { applyDirectoryFrame } from '../lib/liveCache';
import { useAuth } from '../store/auth';
import InboxPage from './Inbox';

function respond(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

const conv: Conversation = {
  id: 'c1', connection_id: 'k', contact_id: 'ct1', contact: { id: 'ct1', name: 'Maria', phone: '+5511987654321' }, channel: 'whatsapp',
  status: 'open', assignee_id: 'me', team_id: null, label_ids: [], unread_count: 0, last_message_preview: 'Oi',
  last_message_direction: 'inbound', last_message_at: new Date().toISOString(),
};

let replies: QuickReply[];

beforeEach(() => {
  replies = [];
  useAuth.setState({ accessToken: 'token', user: { id: 'me', tenant_id: 't', name: 'Ana', email: 'ana@x', role: 'AGENT' } as never });
  vi.stubGlobal('fetch', vi.fn(async (input: string) => {
    const url = new URL(input, 'http://localhost');
    switch (url.pathname) {
      case '/api/v1/conversations': return respond(200, { items: [conv], next_cursor: null });
      case '/api/v1/conversations/c1': return respond(200, conv);
      case '/api/v1/quick-replies': return respond(200, { items: replies, next_cursor: null });
    }
    return respond(200, { items: [], next_cursor: null }); // messages, notes, labels, users
  }));
});
afterEach(() => {
  vi.unstubAllGlobals();
});

function renderInbox() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={['/inbox/c1']}>
        <Routes><Route path="/inbox/:conversationId" element={<InboxPage />} /></Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return qc;
}

describe('changes made in another console reach this one live (issue 23, item 2)', () => {
  it('a renamed contact is renamed in the list and in the header', async () => {
    const qc = renderInbox();
    const row = await screen.findByTestId('conversation-row');
    const header = await screen.findByTestId('open-contact');
    await waitFor(() => expect(within(header).getByText('Maria')).toBeTruthy());
    expect(within(row).getByText('Maria')).toBeTruthy();

    act(() => {
      applyDirectoryFrame(qc, 'contact.updated', { id: 'ct1', name: 'Maria Souza', phone: '+5511987654321', email: null, label_ids: [] });
    });
    await waitFor(() => expect(within(screen.getByTestId('conversation-row')).getByText('Maria Souza')).toBeTruthy());
    await waitFor(() => expect(within(screen.getByTestId('open-contact')).getByText('Maria Souza')).toBeTruthy());
    // another contact's change leaves this one alone
    act(() => {
      applyDirectoryFrame(qc, 'contact.updated', { id: 'ct2', name: 'Outra Pessoa' });
    });
    expect(screen.queryByText('Outra Pessoa')).toBeNull();
  });

  it('"/" says there are no quick replies yet, and shows one created in another console at once', async () => {
    const qc = renderInbox();
    const composer = await screen.findByLabelText('Mensagem (/ para respostas rápidas)');
    fireEvent.change(composer, { target: { value: '/' } });
    const hint = await screen.findByTestId('quick-reply-hint');
    expect(hint.textContent).toContain('Nenhuma resposta rápida criada ainda.');
    expect(hint.textContent).toContain('Peça a um administrador');

    replies = [{ id: 'q1', shortcut: 'oi', title: 'Saudação', text: 'Olá! Como posso ajudar?', media_id: null } as QuickReply];
    act(() => {
      applyDirectoryFrame(qc, 'quick_reply.created', { id: 'q1', shortcut: 'oi' });
    });
    expect(await screen.findByRole('option', { name: /\/oi Saudação/ })).toBeTruthy();
    expect(screen.queryByTestId('quick-reply-hint')).toBeNull();

    fireEvent.change(composer, { target: { value: '/xyz' } });
    expect((await screen.findByTestId('quick-reply-hint')).textContent).toBe('Nenhuma resposta rápida para “/xyz”.');
  });
});
