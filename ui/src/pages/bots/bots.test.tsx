import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BotFlow } from '../../api/types';
import { useNavItems } from '../../components/Shell';
import { useAuth } from '../../store/auth';
import BotFlows from './BotFlows';
import FlowBuilder from './FlowBuilder';
import { autoLayout, publishErrorsByNode } from './flow';
import { NodeForm } from './NodeForm';

const respond = (status: number, body: unknown) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const START = '11111111-1111-4111-8111-111111111111';
const MENU = '22222222-2222-4222-8222-222222222222';
const END = '33333333-3333-4333-8333-333333333333';

const menuFlow = (): BotFlow => ({
  id: 'flow-1', name: 'Menu principal', description: 'Saudação e menu', active_version: 3, version: 4,
  trigger: { on: 'keyword', keywords: ['menu', 'oi'], connection_ids: [] },
  nodes: [
    { id: START, type: 'start', name: 'Início', config: {}, position: { x: 0, y: 0 } },
    { id: MENU, type: 'message', name: 'Menu', config: { text: 'Digite 1 para vendas', buttons: [], list: null }, position: { x: 300, y: 0 } },
    { id: END, type: 'end', name: 'Fim', config: { resolve: true }, position: { x: 600, y: 0 } },
  ],
  edges: [{ from: START, to: MENU, handle: 'next' }, { from: MENU, to: END, handle: 'next' }],
  stats: { started: 1234, completed: 800, handed_off: 56 },
});

let fetchMock: ReturnType<typeof vi.fn>;
let routes: (url: string, init?: RequestInit) => Response | undefined;

beforeAll(() => {
  // what @xyflow/react needs from a browser and jsdom lacks
  class RO { observe() {} unobserve() {} disconnect() {} }
  vi.stubGlobal('ResizeObserver', RO);
  class DOMMatrixRO { m22 = 1; constructor() {} }
  vi.stubGlobal('DOMMatrixReadOnly', DOMMatrixRO);
});

beforeEach(() => {
  routes = () => undefined;
  fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    const r = routes(String(url), init);
    if (r) return r;
    if (String(url).startsWith('/api/v1/')) return respond(200, { items: [], next_cursor: null });
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => {
  vi.unstubAllGlobals();
  class RO { observe() {} unobserve() {} disconnect() {} }
  vi.stubGlobal('ResizeObserver', RO);
  vi.stubGlobal('DOMMatrixReadOnly', class { m22 = 1; });
});

function wrap(children: ReactNode, path = '/bots') {
  return (
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path="/bots" element={children} />
          <Route path="/bots/:id" element={children} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>
  );
}

describe('Chatbot: flow list', () => {
  it('lists the flows the API returns, with trigger, status, version and counts', async () => {
    routes = (url) => (url.startsWith('/api/v1/bot-flows') ? respond(200, { items: [menuFlow(), { ...menuFlow(), id: 'flow-2', name: 'Fora do horário', active_version: null, version: 1, trigger: { on: 'outside_hours', keywords: [], connection_ids: [] }, stats: undefined }], next_cursor: null }) : undefined);
    render(wrap(<BotFlows />));
    const rows = await screen.findAllByTestId('bot-flow-row');
    expect(rows).toHaveLength(2);
    const first = rows[0].textContent!;
    expect(first).toContain('Menu principal');
    expect(first).toContain('Palavra-chave');
    expect(first).toContain('menu, oi');
    expect(first).toContain('Ativo (v3)');
    expect(first).toContain('rascunho v4');
    expect(first).toContain('1.234');
    expect(first).toContain('800');
    expect(first).toContain('56');
    const second = rows[1].textContent!;
    expect(second).toContain('Fora do horário');
    expect(second).toContain('Inativo');
    expect(String(fetchMock.mock.calls[0][0])).toContain('/api/v1/bot-flows');
  });

  it('deletes through the dialog, not confirm()', async () => {
    let items = [menuFlow()];
    routes = (url, init) => {
      if (url.startsWith('/api/v1/bot-flows/flow-1') && init?.method === 'DELETE') { items = []; return respond(204, undefined); }
      if (url.startsWith('/api/v1/bot-flows')) return respond(200, { items, next_cursor: null });
      return undefined;
    };
    const confirmSpy = vi.fn(() => true);
    vi.stubGlobal('confirm', confirmSpy);
    render(wrap(<BotFlows />));
    fireEvent.click(await screen.findByRole('button', { name: 'Excluir Menu principal' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog.textContent).toContain('Excluir o fluxo "Menu principal"?');
    await act(async () => { fireEvent.click(within(dialog).getByTestId('confirm-delete')); });
    await screen.findByText('Nenhum fluxo ainda');
    expect(confirmSpy).not.toHaveBeenCalled();
    expect(fetchMock.mock.calls.some(([u, i]) => String(u) === '/api/v1/bot-flows/flow-1' && i?.method === 'DELETE')).toBe(true);
  });
});

describe('Chatbot: side panel validation', () => {
  it('a message with 4 reply buttons says at most 3', () => {
    const buttons = ['Vendas', 'Suporte', 'Financeiro', 'Outros'].map((title, i) => ({ id: `b${i}`, title }));
    render(<NodeForm node={{ id: MENU, type: 'message', name: 'Menu', config: { text: 'Escolha', buttons, list: null } }} onChange={() => {}} />);
    expect(screen.getByText('No máximo 3 botões.')).toBeTruthy();
    expect((screen.getByRole('button', { name: /Adicionar botão/ }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('three buttons are fine, an empty text is not', () => {
    const buttons = ['Vendas', 'Suporte', 'Financeiro'].map((title, i) => ({ id: `b${i}`, title }));
    render(<NodeForm node={{ id: MENU, type: 'message', name: 'Menu', config: { text: '', buttons, list: null } }} onChange={() => {}} />);
    expect(screen.queryByText('No máximo 3 botões.')).toBeNull();
    expect(screen.getByText('Escreva o texto da mensagem.')).toBeTruthy();
  });
});

describe('Chatbot: publish errors → nodes', () => {
  const nodes = [{ id: START }, { id: MENU }, { id: END }];
  it('reads nodes[i] paths, in the order the flow was saved', () => {
    const r = publishErrorsByNode({ fields: { 'nodes[1].config.buttons': 'at most 3 buttons' } }, nodes);
    expect(r.byNode).toEqual({ [MENU]: ['buttons: at most 3 buttons'] });
    expect(r.general).toEqual([]);
  });
  it('reads keys that carry a node id, nested details, edges and node_id', () => {
    const r = publishErrorsByNode({ [END]: 'not reachable', nodes: { [MENU]: { config: { text: 'is required' } } }, edges: [{}, { to: 'dangling' }], trigger: 'keywords required' }, nodes, [{ from: START }, { from: MENU }]);
    expect(r.byNode[END]).toEqual(['not reachable']);
    expect(r.byNode[MENU]).toEqual(['text: is required', 'to: dangling']);
    expect(r.byNode[START]).toBeUndefined();
    expect(r.general).toEqual(['trigger: keywords required']);
    expect(publishErrorsByNode({ node_id: START }, nodes, [], 'handle next is not connected').byNode).toEqual({ [START]: ['handle next is not connected'] });
  });
});

describe('Chatbot: auto-layout', () => {
  it('puts each node in the column of its BFS depth from start', () => {
    const out = autoLayout(
      [{ id: 'e', type: 'end', position: { x: 0, y: 0 } }, { id: 's', type: 'start', position: { x: 50, y: 50 } }, { id: 'm', type: 'message', position: { x: 9, y: 9 } }, { id: 'x', type: 'end', position: { x: 0, y: 0 } }],
      [{ source: 's', target: 'm' }, { source: 'm', target: 'e' }],
    );
    const x = Object.fromEntries(out.map((n) => [n.id, n.position.x]));
    expect(x).toEqual({ s: 0, m: 300, e: 600, x: 900 });
  });
});

describe('Chatbot: builder', () => {
  function serveFlow(onPublish?: (body: unknown) => Response) {
    let flow = menuFlow();
    routes = (url, init) => {
      if (url === '/api/v1/bot-flows/flow-1' && init?.method === 'PATCH') {
        flow = { ...flow, ...JSON.parse(String(init.body)), version: flow.version + 1 };
        return respond(200, flow);
      }
      if (url === '/api/v1/bot-flows/flow-1/publish') return onPublish ? onPublish(flow) : respond(200, { ...flow, active_version: flow.version });
      if (url === '/api/v1/bot-flows/flow-1') return respond(200, flow);
      return undefined;
    };
  }
  const node = (id: string) => document.querySelector(`[data-testid="flow-node"][data-node-id="${id}"]`) as HTMLElement | null;

  it('undo restores a deleted node and its edges', async () => {
    serveFlow();
    render(wrap(<FlowBuilder />, '/bots/flow-1'));
    await waitFor(() => expect(node(MENU)).toBeTruthy());
    await act(async () => { fireEvent.click(node(MENU)!); });
    const form = await screen.findByTestId('node-form');
    expect(form.getAttribute('data-node-id')).toBe(MENU);
    await act(async () => { fireEvent.click(screen.getByTestId('delete-node')); });
    await waitFor(() => expect(node(MENU)).toBeNull());
    expect(screen.getByTestId('unsaved')).toBeTruthy();

    await act(async () => { fireEvent.keyDown(window, { key: 'z', ctrlKey: true }); });
    await waitFor(() => expect(node(MENU)).toBeTruthy());
    expect(node(MENU)!.textContent).toContain('Digite 1 para vendas');
    expect(screen.queryByTestId('unsaved')).toBeNull(); // back to exactly what was saved, edges included
    expect((screen.getByTestId('undo') as HTMLButtonElement).disabled).toBe(true);
  });

  it('marks the nodes the server blames when publish fails', async () => {
    serveFlow(() => respond(422, { error: { code: 'validation_failed', message: 'the flow cannot be published', details: { fields: { 'nodes[2].config': 'not reachable from start', [MENU]: 'handle next is not connected' } } } }));
    render(wrap(<FlowBuilder />, '/bots/flow-1'));
    await waitFor(() => expect(node(END)).toBeTruthy());
    await act(async () => { fireEvent.click(screen.getByTestId('publish-flow')); });
    await waitFor(() => expect(node(END)!.getAttribute('data-invalid')).toBe('true'));
    expect(node(END)!.textContent).toContain('not reachable from start');
    expect(node(MENU)!.getAttribute('data-invalid')).toBe('true');
    expect(node(MENU)!.textContent).toContain('handle next is not connected');
    expect(node(START)!.getAttribute('data-invalid')).toBeNull();
    expect(screen.getByTestId('publish-error').textContent).toBe('O fluxo tem problemas; veja os blocos destacados.');
  });
});

describe('Chatbot: nav gate', () => {
  function NavLabels() {
    const items = useNavItems();
    return <ul data-testid="nav">{items.map((i) => <li key={i.to}>{i.to}</li>)}</ul>;
  }
  async function navFor(chatbot: boolean) {
    useAuth.getState().setUser({ id: 'u', tenant_id: 't', name: 'Ana', email: 'a@x', role: 'TENANT_ADMIN' });
    routes = (url) => (url === '/api/v1/tenant'
      ? respond(200, { id: 't', name: 'Loja', usage: {}, license: null, plan: { id: 'p', name: 'P', limits: {}, features: { chatbot, campaigns: false, kanban: false, agenda: false, reports: false, api: false, instagram: false, messenger: false } } })
      : undefined);
    const qc = new QueryClient();
    render(<QueryClientProvider client={qc}><NavLabels /></QueryClientProvider>);
    await waitFor(() => expect(qc.getQueryState(['tenant'])?.status).toBe('success')); // the plan is known
  }
  afterEach(() => useAuth.getState().clear());

  it('shows Chatbot when the plan has the feature', async () => {
    await navFor(true);
    await waitFor(() => expect(screen.getByTestId('nav').textContent).toContain('/bots'));
  });

  it('hides it when the plan lacks it', async () => {
    await navFor(false);
    expect(screen.getByTestId('nav').textContent).toContain('/settings');
    expect(screen.getByTestId('nav').textContent).not.toContain('/bots');
  });
});
