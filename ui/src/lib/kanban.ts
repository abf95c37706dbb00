// Pure helpers of the Kanban console: BRL amounts as exact decimal strings,
// the board cache's updates (optimistic moves, live events) and filters.
import type { QueryClient } from '@tanstack/react-query';
import { ApiError } from '../api/client';
import type { Board, BoardColumn, BoardFilters, KanbanCard } from '../api/kanban';

const brl = new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' });

/**
 * Formats a BRL decimal string ("1234.50") as "R$ 1.234,50". The string goes to
 * Intl as is (exact decimal formatting), never summed or rounded here: totals
 * come from the server.
 */
export function formatBRL(value: string | null | undefined): string {
  const v = (value ?? '').trim() || '0';
  if (!/^-?\d+(\.\d+)?$/.test(v)) return v;
  return (brl.format as (x: string | number) => string)(v).replace(/\u00a0/g, ' ');
}

/**
 * Reads an amount typed in Brazilian style ("1.234,50", "R$ 10", "1234,5",
 * "1234.50") into the API's decimal string ("1234.50"). Empty is "0.00";
 * anything else (letters, three decimals, negative) is null.
 */
export function parseBRL(input: string): string | null {
  let s = input.replace(/R\$/i, '').replace(/[\s\u00a0]/g, '');
  if (s === '') return '0.00';
  let int: string;
  let frac = '';
  if (s.includes(',')) {
    // comma decimal: dots group thousands
    const [a, b, ...rest] = s.split(',');
    if (rest.length) return null;
    if (a.includes('.') && !/^\d{1,3}(\.\d{3})+$/.test(a)) return null;
    int = a.replace(/\./g, '');
    frac = b;
  } else if (/^\d{1,3}(\.\d{3})+$/.test(s)) {
    int = s.replace(/\./g, ''); // "1.234" is one thousand two hundred and thirty-four
  } else {
    const [a, b, ...rest] = s.split('.');
    if (rest.length) return null;
    int = a;
    frac = b ?? '';
  }
  if (int === '') int = '0';
  if (!/^\d+$/.test(int) || !/^\d{0,2}$/.test(frac)) return null;
  int = int.replace(/^0+(?=\d)/, '');
  if (int.length > 10) return null;
  s = `${int}.${frac.padEnd(2, '0')}`;
  return s;
}

/** The amount in the Brazilian form a user edits ("1234.5" → "1.234,50"). */
export function editableBRL(value: string | null | undefined): string {
  const v = (value ?? '').trim();
  if (!v || Number(v) === 0) return '';
  return formatBRL(v).replace(/^R\$\s?/, '');
}

/** 402: the plan lacks the kanban feature. */
export function kanbanDisabled(err: unknown): boolean {
  return err instanceof ApiError && err.status === 402;
}

export type DueFilter = '' | 'overdue' | 'week';

/** The board query's due_before/due_after for a due filter, from now. */
export function dueRange(due: DueFilter, now = new Date()): Pick<BoardFilters, 'due_before' | 'due_after'> {
  if (due === 'overdue') return { due_before: now.toISOString() };
  if (due === 'week') return { due_after: now.toISOString(), due_before: new Date(now.getTime() + 7 * 86_400_000).toISOString() };
  return {};
}

export const boardKey = (id: string) => ['kanban', 'board', id] as const;
export const boardsKey = ['kanban', 'boards'] as const;

/** Orders cards as the server does: column position, then rank (byte order), then id. */
export function sortCards(columns: BoardColumn[], cards: KanbanCard[]): KanbanCard[] {
  const pos = new Map(columns.map((c) => [c.id, c.position]));
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...cards].sort((a, b) => (pos.get(a.column_id) ?? 0) - (pos.get(b.column_id) ?? 0) || cmp(a.rank, b.rank) || cmp(a.id, b.id));
}

/** Recounts the columns' cards (the totals stay the server's until it answers again). */
function recount(board: Board, cards: KanbanCard[]): Board {
  const n = new Map<string, number>();
  for (const c of cards) n.set(c.column_id, (n.get(c.column_id) ?? 0) + 1);
  return { ...board, cards, columns: (board.columns ?? []).map((c) => ({ ...c, count: n.get(c.id) ?? 0 })) };
}

export interface Move { column_id: string; before_id?: string; after_id?: string }

/**
 * Moves a card in a board locally: into column_id, before before_id or after
 * after_id (neither: the column's end). The optimistic half of a PATCH.
 */
export function moveCard(board: Board, cardId: string, move: Move): Board {
  const cards = board.cards ?? [];
  const card = cards.find((c) => c.id === cardId);
  if (!card) return board;
  const rest = cards.filter((c) => c.id !== cardId);
  const moved = { ...card, column_id: move.column_id };
  let at: number;
  if (move.before_id && rest.some((c) => c.id === move.before_id)) at = rest.findIndex((c) => c.id === move.before_id);
  else if (move.after_id && rest.some((c) => c.id === move.after_id)) at = rest.findIndex((c) => c.id === move.after_id) + 1;
  else {
    // the column's end: after its last card, or where the column starts
    const last = rest.map((c) => c.column_id).lastIndexOf(move.column_id);
    if (last >= 0) at = last + 1;
    else {
      const pos = new Map((board.columns ?? []).map((c) => [c.id, c.position]));
      const p = pos.get(move.column_id) ?? 0;
      at = rest.findIndex((c) => (pos.get(c.column_id) ?? 0) > p);
      if (at < 0) at = rest.length;
    }
  }
  return recount(board, [...rest.slice(0, at), moved, ...rest.slice(at)]);
}

/** The neighbours to send for a card dropped at index `to` of a column's card list (the card itself excluded). */
export function neighbours(columnCards: KanbanCard[], cardId: string, to: number): { before_id?: string; after_id?: string } {
  const others = columnCards.filter((c) => c.id !== cardId);
  const next = others[to];
  if (next) return { before_id: next.id };
  const prev = others[to - 1];
  return prev ? { after_id: prev.id } : {};
}

/** Puts a card (created or changed) in its board, in rank order; a card of another column or rank moves. */
export function upsertCard(board: Board, card: KanbanCard): Board {
  if (card.board_id !== board.id) return board;
  const cards = (board.cards ?? []).filter((c) => c.id !== card.id);
  return recount(board, sortCards(board.columns ?? [], [...cards, card]));
}

export function removeCard(board: Board, id: string): Board {
  if (!(board.cards ?? []).some((c) => c.id === id)) return board;
  return recount(board, (board.cards ?? []).filter((c) => c.id !== id));
}

export function upsertColumn(board: Board, col: BoardColumn): Board {
  if (col.board_id !== board.id) return board;
  const old = (board.columns ?? []).find((c) => c.id === col.id);
  const merged: BoardColumn = { ...col, count: old?.count ?? col.count ?? 0, total: old?.total ?? col.total ?? '0' };
  const others = (board.columns ?? []).filter((c) => c.id !== col.id);
  // a column moved: the others shift around it as the server shifted them
  const ordered = [...others].sort((a, b) => a.position - b.position);
  ordered.splice(Math.min(Math.max(merged.position, 0), ordered.length), 0, merged);
  const columns = ordered.map((c, i) => ({ ...c, position: i }));
  return { ...board, columns, cards: sortCards(columns, board.cards ?? []) };
}

const refreshTimers = new Map<string, ReturnType<typeof setTimeout>>();

/** Refetches a board soon (its columns' totals are the server's sums), once for a burst of events. */
function refreshSoon(qc: QueryClient, boardId: string) {
  if (refreshTimers.has(boardId)) return;
  refreshTimers.set(boardId, setTimeout(() => {
    refreshTimers.delete(boardId);
    void qc.invalidateQueries({ queryKey: boardKey(boardId) });
  }, 300));
}

function eachBoard(qc: QueryClient, fn: (b: Board) => Board) {
  for (const [key, b] of qc.getQueriesData<Board>({ queryKey: ['kanban', 'board'] })) {
    if (!b) continue;
    const next = fn(b);
    if (next !== b) {
      qc.setQueryData(key, next);
      refreshSoon(qc, b.id);
    }
  }
}

/**
 * Applies a board.*, column.* or card.* event to the cached boards: the open
 * board updates at once for every user, then refetches its totals.
 * False for any other event.
 */
export function applyKanbanFrame(qc: QueryClient, type: string, data: unknown): boolean {
  const d = (data ?? {}) as Record<string, unknown>;
  const id = typeof d.id === 'string' ? d.id : '';
  switch (type) {
    case 'board.created':
    case 'board.updated':
      void qc.invalidateQueries({ queryKey: boardsKey });
      if (id && type === 'board.updated') {
        for (const [key, b] of qc.getQueriesData<Board>({ queryKey: boardKey(id) })) {
          if (b) qc.setQueryData(key, { ...b, name: (d.name as string) ?? b.name, description: (d.description as string) ?? b.description });
        }
      }
      return true;
    case 'board.deleted':
      void qc.invalidateQueries({ queryKey: boardsKey });
      if (id) qc.removeQueries({ queryKey: boardKey(id) });
      return true;
    case 'column.created':
    case 'column.updated':
      if (id && d.board_id) eachBoard(qc, (b) => upsertColumn(b, d as unknown as BoardColumn));
      return true;
    case 'column.deleted':
      if (id) eachBoard(qc, (b) => ((b.columns ?? []).some((c) => c.id === id) ? { ...b, columns: (b.columns ?? []).filter((c) => c.id !== id) } : b));
      return true;
    case 'card.created':
    case 'card.updated':
      if (id && d.board_id) eachBoard(qc, (b) => upsertCard(b, d as unknown as KanbanCard));
      void qc.invalidateQueries({ queryKey: ['kanban', 'cards'] });
      return true;
    case 'card.deleted':
      if (id) eachBoard(qc, (b) => removeCard(b, id));
      void qc.invalidateQueries({ queryKey: ['kanban', 'cards'] });
      return true;
  }
  return false;
}
