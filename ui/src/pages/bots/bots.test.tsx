import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BotFlow } from '../../api/types';
import { useNavItems } from '../../components/Shell';
import { useAuth } from '../../store/auth';
import BotFlows from './BotFlows';
import FlowBuilder, { toApi, toDoc } from './FlowBuilder';
import { autoLayout, cleanConfig, nodeHandles, publishErrorsByNode, validateNode } from './flow';
import { NodeForm } from './NodeForm';

const respond = (status: number, body: unknown) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const START = '11111111-1111-4111-8111-111111111111';
const MENU = '22222222-2222-4222-8222-222222222222';
const END = '33333333-3333-4333-8333-333333333333';

const menuFlow = (): BotFlow => ({
  id: 'flow-1', name: 'Menu principal', description: 'Saudação e menu', active: true, active_version: 3, latest_version: 3,
  published_at: '2026-12-01T10:00:00Z', has_unpublished_changes: true, node_count: 3, created_by: null,
  created_at: '2026-11-01T10:00:00Z', updated_at: '2026-12-02T10:00:00Z',
  trigger: { on: 'keyword', keywords: ['menu', 'oi'], connection_ids: [] },
  nodes: [
    { id: START, type: 'start', name: 'Início', config: {}, position: { x: 0, y: 0 } },
    { id: MENU, type: 'message', name: 'Menu', config: { text: 'Digite 1 para vendas' }, position: { x: 300, y: 0 } },
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
    routes = (url) => (url.startsWith('/api/v1/bot-flows') ? respond(200, { items: [menuFlow(), { ...menuFlow(), id: 'flow-2', name: 'Fora do horário', active: false, active_version: null, latest_version: null, published_at: null, has_unpublished_changes: true, node_count: 1, nodes: undefined, edges: undefined, trigger: { on: 'outside_hours', keywords: [], connection_ids: [] }, stats: { started: 0, completed: 0, handed_off: 0 } }], next_cursor: null }) : undefined);
    render(wrap(<BotFlows />));
    const rows = await screen.findAllByTestId('bot-flow-row');
    expect(rows).toHaveLength(2);
    const first = rows[0].textContent!;
    expect(first).toContain('Menu principal');
    expect(first).toContain('Palavra-chave');
    expect(first).toContain('menu, oi');
    expect(first).toContain('Ativo (v3)');
    expect(first).toContain('alterações não publicadas');
    expect(first).toContain('3 blocos');
    expect(first).toContain('1.234');
    expect(first).toContain('800');
    expect(first).toContain('56');
    const second = rows[1].textContent!;
    expect(second).toContain('Fora do horário');
    expect(second).toContain('Inativo');
    expect(second).toContain('nunca publicado');
    expect(second).toContain('1 bloco');
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

describe('Chatbot: node configs in the server\'s shapes (actors/bot)', () => {
  it('a question of type option has an option:<id> output per button and list row; handoff and end have none', () => {
    expect(nodeHandles('question', { text: 'Qual?', answer_type: 'option', buttons: [{ id: 'v', title: 'Vendas' }, { id: 's', title: 'Suporte' }] }))
      .toEqual(['next', 'invalid', 'timeout', 'option:v', 'option:s']);
    expect(nodeHandles('question', { text: 'Qual?', answer_type: 'option', list: { button: 'Ver', sections: [{ title: 'A', rows: [{ id: 'r1', title: 'Um' }] }, { rows: [{ id: 'r2', title: 'Dois' }] }] } }))
      .toEqual(['next', 'invalid', 'timeout', 'option:r1', 'option:r2']);
    expect(nodeHandles('question', { text: 'Nome?', answer_type: 'text' })).toEqual(['next', 'invalid', 'timeout']);
    expect(nodeHandles('handoff', {})).toEqual([]);
    expect(nodeHandles('end', { resolve: true })).toEqual([]);
    expect(nodeHandles('webhook', {})).toEqual(['ok', 'error']);
    expect(nodeHandles('condition', {})).toEqual(['true', 'false']);
  });

  it('checks what the server checks: list rows in all sections, ops per source, delay and webhook bounds, labels', () => {
    const row = (i: number) => ({ id: `r${i}`, title: `Opção ${i}` });
    const list = { button: 'Ver opções', sections: [{ title: 'A', rows: [1, 2, 3, 4, 5, 6].map(row) }, { title: 'B', rows: [7, 8, 9, 10, 11].map(row) }] };
    expect(validateNode('message', { text: 'Escolha', list })['list.sections']?.key).toBe('bots.errors.too_many_rows');
    expect(validateNode('message', { text: 'Escolha', list: { ...list, sections: [list.sections[0]] } })).toEqual({});
    expect(validateNode('message', { text: 'Escolha', buttons: [{ id: 'a', title: 'Um título longo demais aqui' }] })['buttons[0].title']?.key).toBe('bots.errors.max_length');
    expect(validateNode('message', { text: 'Escolha', buttons: [{ id: 'a', title: 'A' }, { id: 'a', title: 'B' }] })['buttons[1].id']?.key).toBe('bots.errors.duplicate_id');

    const rule = (r: Record<string, string>) => validateNode('condition', { match: 'all', rules: [r] });
    expect(rule({ source: 'variable', key: 'idade', op: 'gte', value: '18' })).toEqual({});
    expect(rule({ source: 'variable', key: 'idade', op: 'gte', value: 'dezoito' })['rules[0].value']?.key).toBe('bots.errors.number');
    expect(rule({ source: 'contact_field', key: 'custom.empresa', op: 'is_set' })).toEqual({});
    expect(rule({ source: 'contact_field', key: 'empresa', op: 'is_set' })['rules[0].key']?.key).toBe('bots.errors.contact_field');
    expect(rule({ source: 'label', op: 'has', value: START })).toEqual({});
    expect(rule({ source: 'label', op: 'eq', value: START })['rules[0].op']).toBeTruthy();
    expect(rule({ source: 'channel', op: 'neq', value: 'instagram' })).toEqual({});
    expect(rule({ source: 'business_hours', op: 'out' })).toEqual({});
    expect(rule({ source: 'business_hours', op: 'exists' })['rules[0].op']).toBeTruthy();

    expect(validateNode('delay', { duration_s: 300 })).toEqual({});
    expect(validateNode('delay', { amount: 5, unit: 'minutes' }).duration_s).toBeTruthy();
    expect(validateNode('webhook', { method: 'POST', url: 'https://api.exemplo.com/x', timeout_s: 31 }).timeout_s).toBeTruthy();
    expect(validateNode('webhook', { method: 'GET', url: 'https://{{var.host}}/x', timeout_s: 10 }).url).toBeTruthy();
    expect(validateNode('webhook', { method: 'GET', url: 'https://api.exemplo.com/{{var.id}}', timeout_s: 10, save: [{ variable: 'nome', path: 'data.items[0].name' }] })).toEqual({});
    expect(validateNode('add_label', { action: 'add', label_ids: [] }).label_ids).toBeTruthy();
    expect(validateNode('handoff', { team_id: START, agent_id: MENU }).agent_id).toBeTruthy();
    expect(validateNode('question', { text: 'E-mail?', answer_type: 'text', contact_field: 'email', retries: 2, timeout_s: 0 }).contact_field).toBeTruthy();
    expect(validateNode('question', { text: 'Qual?', answer_type: 'text', buttons: [{ id: 'a', title: 'A' }], retries: 2, timeout_s: 0 }).answer_type).toBeTruthy();
  });

  it('saves configs the server decodes strictly: no empty ids, no stray fields', () => {
    expect(cleanConfig('handoff', { team_id: '', agent_id: '', message: '' })).toEqual({});
    expect(cleanConfig('question', { text: 'Nome?', answer_type: 'text', variable: '', contact_field: '', retries: 2, timeout_s: 0, buttons: [], list: null, keywords: { a: [] } }))
      .toEqual({ text: 'Nome?', answer_type: 'text', retries: 2, timeout_s: 0 });
    expect(cleanConfig('condition', { match: 'any', rules: [{ source: 'business_hours', key: '', op: 'in', value: '' }] }))
      .toEqual({ match: 'any', rules: [{ source: 'business_hours', op: 'in' }] });
    const api = toApi(toDoc({ ...menuFlow(), nodes: [...menuFlow().nodes!, { id: 'h', type: 'handoff', name: 'Equipe', config: { team_id: '', message: 'Um momento' }, position: { x: 1, y: 1 } }] }));
    expect(api.nodes!.find((n) => n.id === 'h')!.config).toEqual({ message: 'Um momento' });
  });

  it('the delay form shows amount and unit but saves duration_s', () => {
    const onChange = vi.fn();
    render(<NodeForm node={{ id: 'd', type: 'delay', name: 'Espera', config: { duration_s: 7200 } }} onChange={onChange} />);
    expect((screen.getByLabelText('Quanto tempo') as HTMLInputElement).value).toBe('2');
    expect((screen.getByLabelText('Unidade') as HTMLSelectElement).value).toBe('hours');
    fireEvent.change(screen.getByLabelText('Quanto tempo'), { target: { value: '3' } });
    expect(onChange).toHaveBeenLastCalledWith({ config: { duration_s: 10800 } }, 'config.duration_s');
    fireEvent.change(screen.getByLabelText('Unidade'), { target: { value: 'minutes' } });
    expect(onChange).toHaveBeenLastCalledWith({ config: { duration_s: 120 } }, 'config.duration_s');
  });

  it('a label rule offers only has / has not, business hours only in / out', () => {
    const labels = [{ id: START, name: 'VIP', color: '#f00' }] as never;
    render(<NodeForm node={{ id: 'c', type: 'condition', name: 'Se', config: { match: 'all', rules: [{ source: 'label', op: 'has', value: START }, { source: 'business_hours', op: 'in' }] } }} onChange={() => {}} labels={labels} />);
    const ops = (n: number) => Array.from((screen.getByLabelText(`Operador ${n}`) as HTMLSelectElement).options).map((o) => o.value);
    expect(ops(1)).toEqual(['has', 'has_not']);
    expect(ops(2)).toEqual(['in', 'out']);
    expect(screen.queryByLabelText('Valor 2')).toBeNull();
  });
});

describe('Chatbot: publish errors → nodes', () => {
  const nodes = [{ id: START }, { id: MENU }, { id: END }];
  it('reads nodes[i] paths, in the order the flow was saved', () => {
    const r = publishErrorsByNode({ fields: { 'nodes[1].config.buttons': 'at most 3 buttons' } }, nodes);
    expect(r.byNode).toEqual({ [MENU]: ['buttons: at most 3 buttons'] });
    expect(r.general).toEqual([]);
  });
  it('prefers the server\'s node_errors, and keeps the trigger\'s fields as general', () => {
    const details = {
      fields: { 'nodes[1].config.buttons': 'at most 3 buttons', 'nodes[2].handles.next': 'x', 'trigger.keywords': 'needs at least one keyword' },
      node_errors: [{ node_id: MENU, index: 1, field: 'config.buttons', message: 'at most 3 buttons' }, { node_id: END, index: 2, field: '', message: 'is not reachable from the start node' }],
    };
    const r = publishErrorsByNode(details, nodes);
    expect(r.byNode).toEqual({ [MENU]: ['buttons: at most 3 buttons'], [END]: ['is not reachable from the start node'] });
    expect(r.general).toEqual(['trigger.keywords: needs at least one keyword']);
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

describe('Chatbot: test panel', () => {
  const SANDBOX = 'conn-sandbox';
  let inbound: { url: string; body: { from: string; text?: string; type: string } }[] = [];
  function serve(flow: BotFlow) {
    inbound = [];
    routes = (url, init) => {
      if (url === '/api/v1/bot-flows/flow-1') return respond(200, flow);
      if (url.startsWith('/api/v1/connections/')) return respond(200, { id: SANDBOX, name: 'Sandbox', channel: 'whatsapp', provider: 'sandbox', status: 'connected' });
      if (url.startsWith('/api/v1/connections')) {
        return respond(200, { items: [
          { id: 'conn-meta', name: 'WhatsApp oficial', channel: 'whatsapp', provider: 'meta', status: 'connected' },
          { id: SANDBOX, name: 'Sandbox', channel: 'whatsapp', provider: 'sandbox', status: 'connected' },
        ], next_cursor: null });
      }
      if (url === `/api/v1/sandbox/${SANDBOX}/inbound` && init?.method === 'POST') {
        inbound.push({ url, body: JSON.parse(String(init.body)) });
        return respond(200, { message_id: `wamid.in${inbound.length}` });
      }
      if (url === `/sandbox/api/${SANDBOX}/outbox`) {
        // the bot answers every customer that wrote
        const items = [...new Set(inbound.map((x) => x.body.from))].map((to, i) => ({
          message_id: `wamid.out${i}`, to, type: 'text', request: { text: { body: 'Digite 1 para vendas' } }, statuses: ['sent'], received_at: new Date().toISOString(),
        }));
        return respond(200, { items });
      }
      return undefined;
    };
  }
  async function openPanel() {
    render(wrap(<FlowBuilder />, '/bots/flow-1'));
    await act(async () => { fireEvent.click(await screen.findByTestId('toggle-test')); });
    return screen.findByTestId('test-panel');
  }

  it('warns that an unpublished flow cannot answer (the bot runs the published version)', async () => {
    serve({ ...menuFlow(), active: false, active_version: null, latest_version: null, published_at: null });
    const panel = await openPanel();
    expect(within(panel).getByTestId('test-not-published').textContent).toContain('não está publicado');
    // only sandbox connections can be chosen
    expect(Array.from((within(panel).getByLabelText('Conexão sandbox') as HTMLSelectElement).options).map((o) => o.textContent)).toEqual(['Sandbox']);
    expect(within(panel).getByTestId('test-trigger-hint').textContent).toBe('Gatilho: envie uma destas palavras: menu, oi.');
  });

  it('says the draft differs from the published version, and when the trigger leaves the connection out', async () => {
    serve({ ...menuFlow(), trigger: { on: 'first_message', keywords: [], connection_ids: ['conn-meta'] } });
    const panel = await openPanel();
    expect(within(panel).getByTestId('test-draft-differs').textContent).toContain('(v3)');
    expect(within(panel).getByTestId('test-outside-trigger')).toBeTruthy();
  });

  it('writes as a test customer and shows the bot\'s reply; "Novo cliente" starts over with another number', async () => {
    serve({ ...menuFlow(), has_unpublished_changes: false, trigger: { on: 'always', keywords: [], connection_ids: [SANDBOX] } });
    const panel = await openPanel();
    expect(within(panel).getByTestId('test-published').textContent).toBe('O bot executa a versão publicada (v3).');
    expect(within(panel).queryByTestId('test-outside-trigger')).toBeNull();
    fireEvent.change(within(panel).getByTestId('phone-text'), { target: { value: 'oi' } });
    await act(async () => { fireEvent.click(within(panel).getByTestId('phone-send')); });
    await waitFor(() => expect(inbound).toHaveLength(1));
    const first = inbound[0].body.from;
    expect(first).toMatch(/^55119\d{8}$/);
    expect(inbound[0].body).toMatchObject({ type: 'text', text: 'oi' });
    expect(within(panel).getByTestId('phone-sent').textContent).toContain('oi');
    await waitFor(() => expect(within(panel).getByTestId('phone-received').textContent).toContain('Digite 1 para vendas'), { timeout: 4000 });

    await act(async () => { fireEvent.click(within(panel).getByTestId('test-new-customer')); });
    expect(within(panel).queryByTestId('phone-sent')).toBeNull();
    fireEvent.change(within(panel).getByTestId('phone-text'), { target: { value: 'oi de novo' } });
    await act(async () => { fireEvent.click(within(panel).getByTestId('phone-send')); });
    await waitFor(() => expect(inbound).toHaveLength(2));
    expect(inbound[1].body.from).toMatch(/^55119\d{8}$/);
    expect(inbound[1].body.from).not.toBe(first);
  });
});

describe('Chatbot: builder', () => {
  let patches: Record<string, unknown>[] = [];
  function serveFlow(onPublish?: (body: unknown) => Response, initial: BotFlow = menuFlow()) {
    patches = [];
    let flow = initial;
    routes = (url, init) => {
      if (url === '/api/v1/bot-flows/flow-1' && init?.method === 'PATCH') {
        patches.push(JSON.parse(String(init.body)));
        flow = { ...flow, ...JSON.parse(String(init.body)), has_unpublished_changes: true };
        return respond(200, flow);
      }
      if (url === '/api/v1/bot-flows/flow-1/publish') return onPublish ? onPublish(flow) : respond(200, { ...flow, active: true, active_version: 4, latest_version: 4, has_unpublished_changes: false });
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

  it('marks the nodes a flow_invalid answer names in node_errors', async () => {
    serveFlow(() => respond(422, { error: { code: 'flow_invalid', message: 'the flow cannot be published: 1 problem(s)', details: {
      fields: { 'nodes[1].handles.next': 'must be connected' },
      node_errors: [{ node_id: MENU, index: 1, field: 'handles.next', message: 'must be connected' }],
    } } }));
    render(wrap(<FlowBuilder />, '/bots/flow-1'));
    await waitFor(() => expect(node(MENU)).toBeTruthy());
    await act(async () => { fireEvent.click(screen.getByTestId('publish-flow')); });
    await waitFor(() => expect(node(MENU)!.getAttribute('data-invalid')).toBe('true'));
    expect(node(MENU)!.textContent).toContain('handles.next: must be connected');
    expect(node(END)!.getAttribute('data-invalid')).toBeNull();
  });

  it('draws an output per option of a question and drops an edge whose option is removed', async () => {
    const Q = 'q1';
    const flow = menuFlow();
    flow.nodes = [
      flow.nodes![0],
      { id: Q, type: 'question', name: 'Setor', config: { text: 'Qual setor?', answer_type: 'option', buttons: [{ id: 'vendas', title: 'Vendas' }, { id: 'suporte', title: 'Suporte' }], retries: 1, timeout_s: 0 }, position: { x: 300, y: 0 } },
      flow.nodes![2],
    ];
    flow.edges = [{ from: START, to: Q, handle: 'next' }, { from: Q, to: END, handle: 'option:vendas' }, { from: Q, to: END, handle: 'option:suporte' }];
    serveFlow(undefined, flow);
    render(wrap(<FlowBuilder />, '/bots/flow-1'));
    await waitFor(() => expect(node(Q)).toBeTruthy());
    const handles = Array.from(node(Q)!.querySelectorAll('[data-handle]')).map((h) => h.getAttribute('data-handle'));
    expect(handles).toEqual(['next', 'invalid', 'timeout', 'option:vendas', 'option:suporte']);
    expect(node(Q)!.textContent).toContain('Suporte');

    await act(async () => { fireEvent.click(node(Q)!); });
    await act(async () => { fireEvent.click(screen.getByRole('button', { name: 'Remover Título do botão 2' })); });
    await waitFor(() => expect(node(Q)!.querySelector('[data-handle="option:suporte"]')).toBeNull());
    await act(async () => { fireEvent.click(screen.getByTestId('save-flow')); });
    await waitFor(() => expect(patches).toHaveLength(1));
    const body = patches[0] as { nodes: { id: string; config: Record<string, unknown> }[]; edges: { from: string; to: string; handle: string }[] };
    expect(body.edges).toEqual([{ from: START, to: Q, handle: 'next' }, { from: Q, to: END, handle: 'option:vendas' }]);
    expect(body.nodes.find((n) => n.id === Q)!.config).toEqual({ text: 'Qual setor?', answer_type: 'option', buttons: [{ id: 'vendas', title: 'Vendas' }], retries: 1, timeout_s: 0 });
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
