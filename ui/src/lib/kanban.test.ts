import { QueryClient } from '@tanstack/react-query';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Board, KanbanCard } from '../api/kanban';
import { applyKanbanFrame, boardKey, dueRange, editableBRL, formatBRL, moveCard, neighbours, parseBRL } from './kanban';

const card = (id: string, column_id: string, rank: string, over: Partial<KanbanCard> = {}): KanbanCard => ({
  id, board_id: 'b1', column_id, title: id, description: '', value: '0', due_at: null, contact_id: null, contact_name: null,
  conversation_id: null, assignee_id: null, label_ids: [], rank, ...over,
});
const board = (): Board => ({
  id: 'b1', name: 'Vendas', description: '',
  columns: [
    { id: 'new', board_id: 'b1', name: 'Novo', color: '#64748b', kind: 'open', position: 0, count: 2, total: '150.00' },
    { id: 'won', board_id: 'b1', name: 'Ganho', color: '#16a34a', kind: 'won', position: 1, count: 1, total: '10.00' },
  ],
  cards: [card('a', 'new', 'a0'), card('b', 'new', 'b0'), card('c', 'won', 'a0')],
});

describe('BRL', () => {
  it('parses amounts typed in Brazilian style into decimal strings', () => {
    expect(parseBRL('1.234,50')).toBe('1234.50');
    expect(parseBRL('R$ 1.234,5')).toBe('1234.50');
    expect(parseBRL('1234,5')).toBe('1234.50');
    expect(parseBRL('1234.50')).toBe('1234.50');
    expect(parseBRL('1.234')).toBe('1234.00');
    expect(parseBRL('1.234.567,89')).toBe('1234567.89');
    expect(parseBRL('10')).toBe('10.00');
    expect(parseBRL(',5')).toBe('0.50');
    expect(parseBRL('')).toBe('0.00');
    expect(parseBRL('007')).toBe('7.00');
  });
  it('rejects what is not an amount', () => {
    // '1,234': three decimals, not a thousand
    for (const bad of ['abc', '1,234,5', '1,234', '1.23.4', '-5', '1e3', '12.3456', '1.2345,00', '99999999999']) {
      expect(parseBRL(bad), bad).toBeNull();
    }
  });
  it('formats decimal strings as reais without float sums', () => {
    expect(formatBRL('1234.50')).toBe('R$ 1.234,50');
    expect(formatBRL('0')).toBe('R$ 0,00');
    expect(formatBRL('')).toBe('R$ 0,00');
    expect(formatBRL('12345678901.25')).toBe('R$ 12.345.678.901,25');
    expect(editableBRL('1234.5')).toBe('1.234,50');
    expect(editableBRL('0.00')).toBe('');
    expect(parseBRL(editableBRL('98765.43'))).toBe('98765.43');
  });
});

describe('moves', () => {
  it('moves a card before, after, or to the end of a column and recounts', () => {
    const b = board();
    expect(moveCard(b, 'c', { column_id: 'new', before_id: 'a' }).cards!.map((c) => c.id)).toEqual(['c', 'a', 'b']);
    expect(moveCard(b, 'c', { column_id: 'new', after_id: 'a' }).cards!.map((c) => c.id)).toEqual(['a', 'c', 'b']);
    const end = moveCard(b, 'a', { column_id: 'won' });
    expect(end.cards!.map((c) => `${c.id}:${c.column_id}`)).toEqual(['b:new', 'c:won', 'a:won']);
    expect(end.columns!.map((c) => c.count)).toEqual([1, 2]);
    // totals are the server's: unchanged until it answers
    expect(end.columns!.map((c) => c.total)).toEqual(['150.00', '10.00']);
  });
  it('names the neighbour of a drop position', () => {
    const list = [card('a', 'x', '1'), card('b', 'x', '2'), card('c', 'x', '3')];
    expect(neighbours(list, 'a', 2)).toEqual({ after_id: 'c' });
    expect(neighbours(list, 'c', 0)).toEqual({ before_id: 'a' });
    expect(neighbours(list, 'z', 1)).toEqual({ before_id: 'b' });
    expect(neighbours([], 'z', 0)).toEqual({});
  });
  it('turns due filters into a time range', () => {
    const now = new Date('2026-12-06T12:00:00Z');
    expect(dueRange('overdue', now)).toEqual({ due_before: '2026-12-06T12:00:00.000Z' });
    expect(dueRange('week', now)).toEqual({ due_after: '2026-12-06T12:00:00.000Z', due_before: '2026-12-13T12:00:00.000Z' });
    expect(dueRange('', now)).toEqual({});
  });
});

describe('live events', () => {
  afterEach(() => vi.useRealTimers());
  it('applies card and column events to the open board and refetches its totals', () => {
    vi.useFakeTimers();
    const qc = new QueryClient();
    const key = [...boardKey('b1'), {}];
    qc.setQueryData(key, board());
    const invalidate = vi.spyOn(qc, 'invalidateQueries');
    // another user moved a to Ganho, ahead of c
    expect(applyKanbanFrame(qc, 'card.updated', card('a', 'won', '0'))).toBe(true);
    let b = qc.getQueryData<Board>(key)!;
    expect(b.cards!.map((c) => `${c.id}:${c.column_id}`)).toEqual(['b:new', 'a:won', 'c:won']);
    expect(b.columns!.map((c) => c.count)).toEqual([1, 2]);
    applyKanbanFrame(qc, 'card.created', card('d', 'new', 'c0', { title: 'Novo negócio' }));
    applyKanbanFrame(qc, 'card.deleted', { id: 'b' });
    b = qc.getQueryData<Board>(key)!;
    expect(b.cards!.map((c) => c.id)).toEqual(['d', 'a', 'c']);
    applyKanbanFrame(qc, 'column.created', { id: 'lost', board_id: 'b1', name: 'Perdido', color: '#dc2626', kind: 'lost', position: 2 });
    applyKanbanFrame(qc, 'column.updated', { id: 'won', board_id: 'b1', name: 'Fechado', color: '#16a34a', kind: 'won', position: 1 });
    b = qc.getQueryData<Board>(key)!;
    expect(b.columns!.map((c) => c.name)).toEqual(['Novo', 'Fechado', 'Perdido']);
    applyKanbanFrame(qc, 'column.deleted', { id: 'lost' });
    expect(qc.getQueryData<Board>(key)!.columns!.map((c) => c.id)).toEqual(['new', 'won']);
    // a card of another board changes nothing here
    applyKanbanFrame(qc, 'card.created', { ...card('x', 'new', 'z'), board_id: 'b2' });
    expect(qc.getQueryData<Board>(key)!.cards!.map((c) => c.id)).toEqual(['d', 'a', 'c']);
    vi.advanceTimersByTime(400);
    expect(invalidate).toHaveBeenCalledWith({ queryKey: boardKey('b1') });
    expect(applyKanbanFrame(qc, 'message.created', {})).toBe(false);
  });
});
