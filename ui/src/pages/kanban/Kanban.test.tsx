import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Board, KanbanCard } from '../../api/kanban';
import { applyKanbanFrame } from '../../lib/kanban';
import { useAuth } from '../../store/auth';
import KanbanPage from './Kanban';

const respond = (status: number, body?: unknown) =>
  body === undefined ? new Response(null, { status }) : new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const card = (id: string, column_id: string, rank: string, over: Partial<KanbanCard> = {}): KanbanCard => ({
  id, board_id: 'b1', column_id, title: `Negócio ${id}`, description: '', value: '0', due_at: null, contact_id: null, contact_name: null,
  conversation_id: null, assignee_id: null, label_ids: [], rank, ...over,
});

let board: Board;
let fetchMock: ReturnType<typeof vi.fn>;
let patchStatus: number;
let feature: boolean;

beforeEach(() => {
  useAuth.setState({ user: { id: 'me', tenant_id: 't', name: 'Ana', email: 'ana@x', role: 'AGENT' } as never, accessToken: 'tok' } as never);
  patchStatus = 200;
  feature = true;
  board = {
    id: 'b1', name: 'Vendas', description: '',
    columns: [
      { id: 'new', board_id: 'b1', name: 'Novo', color: '#64748b', kind: 'open', position: 0, count: 2, total: '1234.50' },
      { id: 'won', board_id: 'b1', name: 'Ganho', color: '#16a34a', kind: 'won', position: 1, count: 1, total: '98765.43' },
      { id: 'lost', board_id: 'b1', name: 'Perdido', color: '#dc2626', kind: 'lost', position: 2, count: 0, total: '0' },
    ],
    cards: [
      card('a', 'new', 'a0', { value: '1000.00', contact_name: 'Maria' }),
      card('b', 'new', 'b0', { value: '234.50' }),
      card('c', 'won', 'a0', { value: '98765.43' }),
    ],
  };
  fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    const path = String(url);
    if (!feature && path.startsWith('/api/v1/boards')) return respond(402, { error: { code: 'feature_disabled', message: 'your plan does not include kanban' } });
    if (path.startsWith('/api/v1/boards/b1')) return respond(200, board);
    if (path.startsWith('/api/v1/boards')) return respond(200, { items: [{ id: 'b1', name: 'Vendas', description: '' }] });
    if (path.startsWith('/api/v1/cards/') && init?.method === 'PATCH') {
      if (patchStatus !== 200) return respond(patchStatus, { error: { code: 'not_found', message: 'card not found' } });
      const body = JSON.parse(String(init.body)) as { column_id: string };
      const id = path.split('/').pop()!;
      const moved = { ...board.cards!.find((c) => c.id === id)!, column_id: body.column_id, rank: 'z0' };
      // the server's state: the card at the column's end (the tests do not check its totals)
      board = { ...board, cards: [...board.cards!.filter((c) => c.id !== id), moved] };
      return respond(200, moved);
    }
    if (path === '/api/v1/columns/new' && init?.method === 'DELETE') return respond(409, { error: { code: 'column_not_empty', message: 'the column has cards' } });
    if (path.startsWith('/api/v1/users') || path.startsWith('/api/v1/labels')) return respond(200, { items: [], next_cursor: null });
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

function renderPage(qc = new QueryClient()) {
  render(<QueryClientProvider client={qc}><MemoryRouter initialEntries={['/kanban']}><KanbanPage /></MemoryRouter></QueryClientProvider>);
  return qc;
}
const column = (id: string) => screen.findByTestId(`column-${id}`);

describe('Funil', () => {
  it('shows the columns side by side with their count, BRL total from the server and won/lost badges', async () => {
    renderPage();
    const novo = await column('new');
    expect(within(novo).getByText('Novo')).toBeTruthy();
    expect(within(novo).getByTestId('column-count').textContent).toBe('2 itens');
    expect(within(novo).getByTestId('column-total').textContent).toBe('R$ 1.234,50');
    expect(within(novo).getByText('Negócio a')).toBeTruthy();
    expect(within(novo).getByText('Maria')).toBeTruthy();
    const ganho = await column('won');
    expect(within(ganho).getByTestId('column-total').textContent).toBe('R$ 98.765,43');
    expect(within(ganho).getByTestId('column-count').textContent).toBe('1 item');
    expect(within(ganho).getAllByText('Ganho').length).toBe(2); // name and badge
    expect(within(await column('lost')).getByTestId('column-total').textContent).toBe('R$ 0,00');
    // an agent does not shape the board
    expect(screen.queryByTestId('new-board')).toBeNull();
    expect(screen.queryByTestId('add-column')).toBeNull();
  });

  it('moves a card with the "Mover para…" menu: PATCH with the column, the card shown there at once', async () => {
    renderPage();
    const novo = await column('new');
    fireEvent.click(within(novo).getByRole('button', { name: 'Mover o card Negócio a' }));
    const menu = await screen.findByRole('menu', { name: 'Mover para…' });
    await act(async () => {
      fireEvent.click(within(menu).getByRole('menuitem', { name: /Perdido/ }));
    });
    const patch = fetchMock.mock.calls.find(([, init]) => init?.method === 'PATCH');
    expect(String(patch?.[0])).toBe('/api/v1/cards/a');
    expect(JSON.parse(String(patch?.[1]?.body))).toEqual({ column_id: 'lost' });
    await waitFor(() => expect(within(screen.getByTestId('column-lost')).queryByText('Negócio a')).toBeTruthy());
    expect(await screen.findByText('Card movido para Perdido.')).toBeTruthy();
  });

  it('moves a card down within its column after its neighbour', async () => {
    renderPage();
    const novo = await column('new');
    fireEvent.click(within(novo).getByRole('button', { name: 'Mover o card Negócio a' }));
    await act(async () => {
      fireEvent.click(await screen.findByRole('menuitem', { name: 'Para baixo' }));
    });
    const patch = fetchMock.mock.calls.find(([, init]) => init?.method === 'PATCH');
    expect(JSON.parse(String(patch?.[1]?.body))).toEqual({ column_id: 'new', after_id: 'b' });
  });

  it('puts the card back when the server refuses the move', async () => {
    patchStatus = 404;
    renderPage();
    const novo = await column('new');
    fireEvent.click(within(novo).getByRole('button', { name: 'Mover o card Negócio b' }));
    await act(async () => {
      fireEvent.click(await screen.findByRole('menuitem', { name: /Ganho/ }));
    });
    expect(await screen.findByText(/Não foi possível mover o card/)).toBeTruthy();
    expect(within(screen.getByTestId('column-new')).getByText('Negócio b')).toBeTruthy();
    expect(within(screen.getByTestId('column-won')).queryByText('Negócio b')).toBeNull();
  });

  it("applies another user's live move to the open board", async () => {
    const qc = renderPage();
    await column('new');
    act(() => {
      applyKanbanFrame(qc, 'card.updated', card('b', 'lost', 'a0', { title: 'Negócio b' }));
    });
    await waitFor(() => expect(within(screen.getByTestId('column-lost')).queryByText('Negócio b')).toBeTruthy());
    expect(within(screen.getByTestId('column-new')).queryByText('Negócio b')).toBeNull();
    expect(within(screen.getByTestId('column-lost')).getByTestId('column-count').textContent).toBe('1 item');
  });

  it('shows managers the board and column tools', async () => {
    useAuth.setState({ user: { id: 'me', tenant_id: 't', name: 'Ana', email: 'ana@x', role: 'SUPERVISOR' } as never });
    renderPage();
    await column('new');
    expect(screen.getByTestId('new-board')).toBeTruthy();
    expect(screen.getByTestId('add-column')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Configurar coluna Novo' })).toBeTruthy();
  });

  it('tells a manager why a column with cards cannot be deleted (409)', async () => {
    useAuth.setState({ user: { id: 'me', tenant_id: 't', name: 'Ana', email: 'ana@x', role: 'TENANT_ADMIN' } as never });
    renderPage();
    await column('new');
    fireEvent.click(screen.getByRole('button', { name: 'Configurar coluna Novo' }));
    fireEvent.click(await screen.findByTestId('delete-column'));
    await act(async () => {
      fireEvent.click(await screen.findByRole('button', { name: 'Confirmar' }));
    });
    expect((await screen.findByTestId('column-error')).textContent).toContain('A coluna ainda tem cards');
    expect(fetchMock.mock.calls.some(([u, init]) => String(u) === '/api/v1/columns/new' && init?.method === 'DELETE')).toBe(true);
  });

  it('explains when the plan has no Kanban (402)', async () => {
    feature = false;
    renderPage();
    expect(await screen.findByTestId('kanban-upsell')).toBeTruthy();
    expect(screen.getByText('O funil (Kanban) não está no plano da sua empresa.')).toBeTruthy();
  });
});
