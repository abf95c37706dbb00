import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BotFlowSummary, BotSession, Conversation } from '../api/types';
import { applyMessageFrame, upsertConversation } from '../lib/liveCache';
import InboxPage from '../pages/Inbox';
import { useAuth } from '../store/auth';
import { BotActiveBadge, BotDataSection, HandToFlowDialog } from './ConversationBot';

const respond = (status: number, body?: unknown) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const conv = (x: Partial<Conversation> = {}): Conversation => ({
  id: 'c1', connection_id: 'k1', channel: 'whatsapp', contact_id: 'ct1', contact: { id: 'ct1', name: 'Maria', phone: '+5511987654321' },
  status: 'open', assignee_id: null, team_id: null, label_ids: [], last_seq: 4, bot_active: true, ...x,
});

const session = (x: Partial<BotSession> = {}): BotSession => ({
  id: 's1', flow_id: 'f1', flow_name: 'Menu principal', version: 3, status: 'waiting', node: 'n2', waiting: 'question',
  variables: { nome: 'Maria Souza', cidade: 'Campinas' }, started_at: '2026-12-01T10:00:00Z', updated_at: '2026-12-01T10:05:00Z', ...x,
});

const flow = (x: Partial<BotFlowSummary>): BotFlowSummary => ({
  id: 'f1', name: 'Menu principal', description: '', trigger: { on: 'first_message', keywords: [], connection_ids: [] }, active: true,
  active_version: 3, latest_version: 3, published_at: '2026-12-01T10:00:00Z', has_unpublished_changes: false, node_count: 3,
  stats: { started: 0, completed: 0, handed_off: 0 }, created_by: null, created_at: '2026-11-01T10:00:00Z', updated_at: '2026-11-01T10:00:00Z', ...x,
});

let fetchMock: ReturnType<typeof vi.fn>;
let routes: (url: string, init?: RequestInit) => Response | undefined;
const calls = (method: string, path: string) =>
  fetchMock.mock.calls.filter(([u, i]) => String(u).split('?')[0] === path && ((i as RequestInit | undefined)?.method ?? 'GET') === method);

beforeEach(() => {
  useAuth.setState({ user: { id: 'me', tenant_id: 't', name: 'Ana', email: 'ana@x', role: 'AGENT' } as never, accessToken: 'tok' } as never);
  routes = () => undefined;
  fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    const r = routes(String(url), init);
    if (r) return r;
    return respond(200, { items: [], next_cursor: null });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

function withClient(children: ReactNode, qc = new QueryClient({ defaultOptions: { queries: { retry: false } } })) {
  return <QueryClientProvider client={qc}><MemoryRouter>{children}</MemoryRouter></QueryClientProvider>;
}

/** The badge fed by the cached conversation, as the inbox header is. */
function CachedBadge({ id }: { id: string }) {
  const q = useQuery<Conversation>({ queryKey: ['conversation', id], queryFn: () => Promise.reject(new Error('not fetched')), staleTime: Infinity, enabled: false });
  return q.data ? <BotActiveBadge conversation={q.data} /> : null;
}

describe('the "Bot atendendo" badge', () => {
  it('names the flow and stops the bot only after the confirmation', async () => {
    routes = (url, init) => {
      if (url === '/api/v1/conversations/c1/bot') return respond(200, { active: true, session: session() });
      if (url === '/api/v1/conversations/c1/bot/stop' && init?.method === 'POST') return respond(200, conv({ bot_active: false }));
      return undefined;
    };
    render(withClient(<BotActiveBadge conversation={conv()} />));
    expect((await screen.findByTestId('bot-badge')).textContent).toContain('Bot atendendo');
    await waitFor(() => expect(screen.getByTestId('bot-badge').textContent).toBe('Bot atendendo · Menu principal'));

    fireEvent.click(screen.getByTestId('stop-bot'));
    expect((await screen.findByTestId('confirm-message')).textContent).toContain('Menu principal');
    fireEvent.click(screen.getByRole('button', { name: 'Cancelar' }));
    await waitFor(() => expect(screen.queryByTestId('confirm-message')).toBeNull());
    expect(calls('POST', '/api/v1/conversations/c1/bot/stop')).toHaveLength(0);

    fireEvent.click(screen.getByTestId('stop-bot'));
    const dialog = (await screen.findByTestId('confirm-message')).closest('[role="dialog"]') as HTMLElement;
    await act(async () => {
      fireEvent.click(within(dialog).getByRole('button', { name: 'Parar bot' }));
    });
    await waitFor(() => expect(calls('POST', '/api/v1/conversations/c1/bot/stop')).toHaveLength(1));
  });

  it('is absent when no bot runs, and follows bot_active in live frames', async () => {
    routes = (url) => (url === '/api/v1/conversations/c1/bot' ? respond(200, { active: true, session: session() }) : undefined);
    const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    qc.setQueryData(['conversation', 'c1'], conv({ bot_active: false }));
    render(withClient(<CachedBadge id="c1" />, qc));
    expect(screen.queryByTestId('bot-badge')).toBeNull();
    // a message.created frame carries the conversation: the bot took it
    act(() => {
      applyMessageFrame(qc, { id: 'm5', conversation_id: 'c1', seq: 5, direction: 'outbound', type: 'text', text: 'Olá!', status: 'pending', via: 'bot', sent_by: null, created_at: '2026-12-01T10:06:00Z', conversation: conv({ bot_active: true, last_seq: 5 }) });
    });
    await waitFor(() => expect(screen.getByTestId('bot-badge').textContent).toBe('Bot atendendo · Menu principal'));
    // conversation.updated: an agent took over, the bot stopped
    act(() => upsertConversation(qc, conv({ bot_active: false, last_seq: 5 })));
    await waitFor(() => expect(screen.queryByTestId('bot-badge')).toBeNull());
  });

  it('treats 409 bot_not_active as already stopped, without an error', async () => {
    routes = (url, init) => {
      if (url === '/api/v1/conversations/c1/bot') return respond(200, { active: false, session: session({ status: 'completed', waiting: '' }) });
      if (url === '/api/v1/conversations/c1/bot/stop' && init?.method === 'POST') return respond(409, { error: { code: 'bot_not_active', message: 'no bot is running' } });
      return undefined;
    };
    render(withClient(<BotActiveBadge conversation={conv()} />));
    fireEvent.click(await screen.findByTestId('stop-bot'));
    const dialog = (await screen.findByTestId('confirm-message')).closest('[role="dialog"]') as HTMLElement;
    await act(async () => {
      fireEvent.click(within(dialog).getByRole('button', { name: 'Parar bot' }));
    });
    await waitFor(() => expect(calls('POST', '/api/v1/conversations/c1/bot/stop')).toHaveLength(1));
    await waitFor(() => expect(calls('GET', '/api/v1/conversations/c1/bot').length).toBeGreaterThan(1));
    expect(screen.queryByTestId('stop-bot-error')).toBeNull();
  });
});

describe('handing a conversation to a flow', () => {
  it('lists only published flows and starts the chosen one', async () => {
    routes = (url, init) => {
      if (url.startsWith('/api/v1/bot-flows')) {
        return respond(200, { items: [flow({}), flow({ id: 'f2', name: 'Rascunho', active: false, active_version: null }), flow({ id: 'f3', name: 'Suporte', active_version: 1 })], next_cursor: null });
      }
      if (url === '/api/v1/conversations/c1/bot/start' && init?.method === 'POST') return respond(200, conv({ bot_active: true }));
      return undefined;
    };
    const onClose = vi.fn();
    render(withClient(<HandToFlowDialog conversation={conv({ bot_active: false })} onClose={onClose} />));
    const radios = await screen.findAllByRole('radio');
    expect(radios.map((r) => r.closest('label')!.textContent)).toEqual(['Menu principal v3', 'Suporte v1']);
    fireEvent.click(screen.getByRole('radio', { name: /Suporte/ }));
    await act(async () => {
      fireEvent.click(screen.getByTestId('start-flow'));
    });
    await waitFor(() => expect(onClose).toHaveBeenCalled());
    const [, init] = calls('POST', '/api/v1/conversations/c1/bot/start')[0];
    expect(JSON.parse(String((init as RequestInit).body))).toEqual({ flow_id: 'f3' });
  });

  it('says so when the flow is no longer published (422)', async () => {
    routes = (url, init) => {
      if (url.startsWith('/api/v1/bot-flows')) return respond(200, { items: [flow({})], next_cursor: null });
      if (url === '/api/v1/conversations/c1/bot/start' && init?.method === 'POST') {
        return respond(422, { error: { code: 'validation_failed', message: 'invalid', details: { fields: { flow_id: 'the flow is not published' } } } });
      }
      return undefined;
    };
    const onClose = vi.fn();
    render(withClient(<HandToFlowDialog conversation={conv({ bot_active: false })} onClose={onClose} />));
    await screen.findAllByRole('radio');
    await act(async () => {
      fireEvent.click(screen.getByTestId('start-flow'));
    });
    expect((await screen.findByTestId('form-error')).textContent).toBe('Este fluxo não está mais publicado. Escolha outro ou publique-o na página Chatbot.');
    expect(onClose).not.toHaveBeenCalled();
  });

  it('says when no flow is published', async () => {
    routes = (url) => (url.startsWith('/api/v1/bot-flows') ? respond(200, { items: [flow({ active: false, active_version: null })], next_cursor: null }) : undefined);
    render(withClient(<HandToFlowDialog conversation={conv({ bot_active: false })} onClose={() => undefined} />));
    expect(await screen.findByTestId('no-published-flows')).toBeTruthy();
    expect((screen.getByTestId('start-flow') as HTMLButtonElement).disabled).toBe(true);
  });
});

describe('"Dados do bot" in the side panel', () => {
  it('shows the variables the bot collected and where it stands', async () => {
    routes = (url) => (url === '/api/v1/conversations/c1/bot' ? respond(200, { active: false, session: session({ status: 'handed_off', waiting: '' }) }) : undefined);
    render(withClient(<BotDataSection conversation={conv({ bot_active: false })} />));
    const vars = await screen.findByTestId('bot-variables');
    const pairs = [...vars.querySelectorAll('div')].map((d) => [d.querySelector('dt')!.textContent, d.querySelector('dd')!.textContent]);
    expect(pairs).toEqual([['cidade', 'Campinas'], ['nome', 'Maria Souza']]);
    expect(screen.getByTestId('bot-flow-name').textContent).toBe('Menu principal');
    expect(screen.getByTestId('bot-status').textContent).toBe('Transferido para a equipe');
    expect(screen.getByText('Dados do bot')).toBeTruthy();
  });

  it('says what a live session waits for', async () => {
    routes = (url) => (url === '/api/v1/conversations/c1/bot' ? respond(200, { active: true, session: session({ variables: {} }) }) : undefined);
    render(withClient(<BotDataSection conversation={conv()} />));
    expect((await screen.findByTestId('bot-status')).textContent).toBe('Aguardando · resposta do cliente');
    expect(screen.getByText('O bot ainda não coletou nenhum dado.')).toBeTruthy();
  });

  it('is hidden when no bot ever ran here, or the plan has no chatbot (402)', async () => {
    routes = (url) => (url === '/api/v1/conversations/c1/bot' ? respond(200, { active: false, session: null }) : undefined);
    const { unmount } = render(withClient(<BotDataSection conversation={conv({ bot_active: false })} />));
    await waitFor(() => expect(calls('GET', '/api/v1/conversations/c1/bot')).toHaveLength(1));
    await waitFor(() => expect(screen.queryByTestId('bot-data')).toBeNull());
    unmount();
    routes = (url) => (url === '/api/v1/conversations/c1/bot' ? respond(402, { error: { code: 'feature_disabled', message: 'your plan does not include chatbot' } }) : undefined);
    render(withClient(<BotDataSection conversation={conv({ bot_active: false })} />));
    await waitFor(() => expect(calls('GET', '/api/v1/conversations/c1/bot')).toHaveLength(2));
    await waitFor(() => expect(screen.queryByTestId('bot-data')).toBeNull());
  });
});

describe('the inbox conversation header', () => {
  it('shows the badge while the bot runs and offers "Passar para um fluxo" once it stopped', async () => {
    let current = conv();
    routes = (url, init) => {
      const path = url.split('?')[0];
      if (path === '/api/v1/tenant') return respond(200, { id: 't', name: 'Loja', plan: { id: 'p', name: 'Pro', limits: {}, features: { chatbot: true } }, usage: {}, license: null });
      if (path === '/api/v1/conversations/c1/bot/stop' && init?.method === 'POST') {
        current = conv({ bot_active: false });
        return respond(200, current);
      }
      if (path === '/api/v1/conversations/c1/bot') return respond(200, { active: !!current.bot_active, session: session({ status: current.bot_active ? 'waiting' : 'stopped' }) });
      if (path === '/api/v1/conversations/c1') return respond(200, current);
      if (path === '/api/v1/contacts/ct1') return respond(200, { id: 'ct1', name: 'Maria', phone: '+5511987654321', email: null, custom_fields: {}, label_ids: [] });
      return undefined;
    };
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <MemoryRouter initialEntries={['/inbox/c1']}>
          <Routes><Route path="/inbox/:conversationId" element={<InboxPage />} /></Routes>
        </MemoryRouter>
      </QueryClientProvider>,
    );
    const pane = await screen.findByTestId('conversation-pane');
    await waitFor(() => expect(within(pane).getByTestId('bot-badge').textContent).toBe('Bot atendendo · Menu principal'));
    expect(within(pane).queryByTestId('hand-to-flow-open')).toBeNull();

    fireEvent.click(within(pane).getByTestId('stop-bot'));
    const dialog = (await screen.findByTestId('confirm-message')).closest('[role="dialog"]') as HTMLElement;
    await act(async () => {
      fireEvent.click(within(dialog).getByRole('button', { name: 'Parar bot' }));
    });
    await waitFor(() => expect(within(pane).queryByTestId('bot-badge')).toBeNull());
    expect(await within(pane).findByTestId('hand-to-flow-open')).toBeTruthy();

    // the side panel keeps what the bot collected, for the agent who takes over
    fireEvent.click(within(pane).getByTestId('open-contact'));
    const panel = await screen.findByTestId('contact-panel');
    await waitFor(() => expect(within(panel).getByTestId('bot-status').textContent).toBe('Parado'));
    expect(within(panel).getByTestId('bot-variables').textContent).toContain('Maria Souza');
  });
});
