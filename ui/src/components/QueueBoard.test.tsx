import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRouter, Route, Routes } from 'react-router';
import type { Conversation } from '../api/types';
import InboxPage from '../pages/Inbox';
import { useAuth } from '../store/auth';
import { useAvailability } from '../store/availability';
import { SlaBadge } from './SlaBadge';

function respond(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

const inMinutes = (m: number) => new Date(Date.now() + m * 60_000).toISOString();

const conv: Conversation = {
  id: 'c1', connection_id: 'k', contact_id: 'ct1', contact: { id: 'ct1', name: 'Maria', phone: '+5511987654321' }, channel: 'whatsapp',
  status: 'open', assignee_id: null, team_id: 'tm1', label_ids: [], unread_count: 0, last_message_preview: 'Oi',
  last_message_direction: 'inbound', last_message_at: new Date().toISOString(), sla_due_at: inMinutes(12),
};

const queues = () => ({ teams: [
  { team_id: 'tm1', team_name: 'Vendas', auto_assign: 'off', waiting: 2, oldest_queued_at: null, agents_online: 1, agents_with_room: 1, items: [
    { conversation_id: 'c1', team_id: 'tm1', contact_id: 'ct1', contact_name: 'Maria', contact_phone: null, channel: 'whatsapp', last_message_preview: 'Quero um orçamento',
      created_at: '', queued_at: '', waiting_seconds: 125, sla_due_at: inMinutes(-1) },
    { conversation_id: 'c2', team_id: 'tm1', contact_id: 'ct2', contact_name: 'João', contact_phone: null, channel: 'whatsapp', last_message_preview: 'Oi',
      created_at: '', queued_at: '', waiting_seconds: 30, sla_due_at: null },
  ] },
  { team_id: 'tm2', team_name: 'Suporte', auto_assign: 'round_robin', waiting: 1, oldest_queued_at: null, agents_online: 0, agents_with_room: 0, items: [
    { conversation_id: 'c3', team_id: 'tm2', contact_id: 'ct3', contact_name: 'Rita', contact_phone: null, channel: 'whatsapp', last_message_preview: 'Ajuda',
      created_at: '', queued_at: '', waiting_seconds: 3700, sla_due_at: inMinutes(40) },
  ] },
] });

let fetchMock: ReturnType<typeof vi.fn>;
beforeEach(() => {
  useAvailability.setState({ byUser: {} });
  useAuth.setState({ accessToken: 'token', user: { id: 'me', tenant_id: 't', name: 'Sara', email: 's@x', role: 'SUPERVISOR' } as never });
  fetchMock = vi.fn(async (input: string, init?: RequestInit) => {
    const url = new URL(input, 'http://localhost');
    switch (url.pathname) {
      case '/api/v1/conversations': return respond(200, { items: [conv], next_cursor: null });
      case '/api/v1/queues': return respond(200, queues());
      case '/api/v1/users': return respond(200, { items: [
        { id: 'u1', name: 'Ana', email: 'a@x', role: 'AGENT', active: true, team_ids: ['tm1'] },
        { id: 'u2', name: 'Bia', email: 'b@x', role: 'AGENT', active: true, team_ids: [] },
      ], next_cursor: null });
      case '/api/v1/teams': return respond(200, { items: [{ id: 'tm1', name: 'Vendas', description: '', member_ids: ['u1'] }], next_cursor: null });
      case '/api/v1/agents/availability': return respond(200, { items: [{ user_id: 'u1', availability: 'online', connected: true }] });
      case '/api/v1/conversations/c1': return respond(200, init?.method === 'PATCH' ? { ...conv, ...JSON.parse(String(init.body)) } : conv);
    }
    return respond(200, { items: [], next_cursor: null });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

function renderInbox() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={['/inbox']}>
        <Routes><Route path="/inbox" element={<InboxPage />} /><Route path="/inbox/:conversationId" element={<InboxPage />} /></Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('the team queues in the inbox', () => {
  it('counts the waiting conversations on the "Filas" tab and lists them per team with waiting time and SLA', async () => {
    renderInbox();
    const count = await screen.findByTestId('queue-count');
    expect(count.textContent).toBe('3');
    expect(count.getAttribute('aria-label')).toBe('3 na fila das equipes');
    // the list shows the conversation's SLA
    const row = await screen.findByTestId('conversation-row');
    expect(within(row).getByTestId('sla-badge').textContent).toBe('SLA 12 min');

    fireEvent.click(screen.getByTestId('tab-queues'));
    const teams = await screen.findAllByTestId('team-queue');
    expect(teams.map((s) => s.getAttribute('aria-label'))).toEqual(['Vendas', 'Suporte']);
    expect(teams[0].textContent).toContain('2 aguardando');
    const items = screen.getAllByTestId('queue-item');
    expect(items[0].textContent).toContain('Quero um orçamento');
    expect(within(items[0]).getByTestId('queue-waiting').textContent).toMatch(/Aguardando há 2 min/);
    expect(within(items[0]).getByTestId('sla-badge').textContent).toBe('SLA estourado');
    expect(within(items[1]).queryByTestId('sla-badge')).toBeNull();
    expect(within(items[2]).getByTestId('queue-waiting').textContent).toMatch(/Aguardando há 1 h 01/);
  });

  it('"Atribuir" sends the agent and the note in one PATCH', async () => {
    renderInbox();
    fireEvent.click(await screen.findByTestId('tab-queues'));
    fireEvent.click((await screen.findAllByTestId('queue-assign'))[0]);
    const agent = await screen.findByLabelText('Agente') as HTMLSelectElement;
    await waitFor(() => expect(agent.options.length).toBe(3));
    expect(agent.options[1].textContent).toBe('Ana · Disponível'); // the team's member first, with availability
    fireEvent.change(agent, { target: { value: 'u1' } });
    fireEvent.change(screen.getByLabelText('Nota interna (opcional)'), { target: { value: 'Cliente VIP' } });
    fireEvent.click(screen.getByRole('button', { name: 'Atribuir' }));
    await waitFor(() => {
      const patch = fetchMock.mock.calls.find(([u, i]) => String(u).includes('/api/v1/conversations/c1') && i?.method === 'PATCH');
      expect(JSON.parse(String(patch![1]!.body))).toEqual({ assignee_id: 'u1', note: 'Cliente VIP' });
    });
  });
});

describe('the SLA badge', () => {
  it('says what is left, and red "SLA estourado" once past due', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    const { rerender } = render(<SlaBadge dueAt="2026-12-06T12:12:00Z" now={now} />);
    expect(screen.getByTestId('sla-badge').textContent).toBe('SLA 12 min');
    rerender(<SlaBadge dueAt="2026-12-06T11:59:00Z" now={now} />);
    expect(screen.getByTestId('sla-badge').textContent).toBe('SLA estourado');
    expect(screen.getByTestId('sla-badge').className).toContain('text-red-700');
    rerender(<SlaBadge dueAt={null} now={now} />);
    expect(screen.queryByTestId('sla-badge')).toBeNull();
  });
});
