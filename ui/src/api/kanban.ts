// The Kanban routes (issue 19): boards with their columns (stages) and cards.
import { api } from './index';
import { itemsOf } from './endpoints';
import type { Page } from './types';

export type ColumnKind = 'open' | 'won' | 'lost';

export interface BoardColumn {
  id: string;
  board_id: string;
  name: string;
  color: string;
  kind: ColumnKind;
  position: number;
  /** The cards (of the board's filter) in the column. */
  count: number;
  /** The sum of their values, BRL as an exact decimal string ("1234.50"), summed by the server. */
  total: string;
}

export interface KanbanCard {
  id: string;
  board_id: string;
  column_id: string;
  title: string;
  description: string;
  /** BRL as an exact decimal string ("1234.50"). */
  value: string;
  due_at: string | null;
  contact_id: string | null;
  contact_name: string | null;
  conversation_id: string | null;
  assignee_id: string | null;
  label_ids: string[] | null;
  rank: string;
  created_at?: string;
  updated_at?: string;
}

export interface Board {
  id: string;
  name: string;
  description: string;
  created_at?: string;
  updated_at?: string;
  columns?: BoardColumn[];
  cards?: KanbanCard[];
}

export interface BoardFilters {
  assignee_id?: string; // a user id, "me" or "none"
  label_id?: string;
  due_before?: string; // RFC 3339
  due_after?: string;
}

export interface ColumnInput { name: string; color?: string; kind?: ColumnKind }
export interface CardInput {
  board_id: string;
  column_id?: string;
  title: string;
  description?: string;
  value?: string;
  due_at?: string | null;
  contact_id?: string | null;
  conversation_id?: string | null;
  assignee_id?: string | null;
  label_ids?: string[];
}
/** Only the fields present change; null clears due_at, contact_id, conversation_id and assignee_id. */
export type CardPatch = Partial<Omit<CardInput, 'board_id' | 'column_id'>> & { column_id?: string; before_id?: string; after_id?: string };

const clean = (f: BoardFilters) => Object.fromEntries(Object.entries(f).filter(([, v]) => v)) as Record<string, string>;

export const kanban = {
  boards: () => api.get<Page<Board> | Board[]>('/api/v1/boards').then((p) => itemsOf(p)),
  board: (id: string, filters: BoardFilters = {}) => api.get<Board>(`/api/v1/boards/${id}`, { query: clean(filters) }),
  createBoard: (body: { name: string; description?: string; columns?: ColumnInput[] }) => api.post<Board>('/api/v1/boards', body),
  updateBoard: (id: string, body: { name?: string; description?: string }) => api.patch<Board>(`/api/v1/boards/${id}`, body),
  deleteBoard: (id: string) => api.delete<void>(`/api/v1/boards/${id}`),
  createColumn: (boardId: string, body: ColumnInput) => api.post<BoardColumn>(`/api/v1/boards/${boardId}/columns`, body),
  updateColumn: (id: string, body: Partial<ColumnInput> & { position?: number }) => api.patch<BoardColumn>(`/api/v1/columns/${id}`, body),
  deleteColumn: (id: string) => api.delete<void>(`/api/v1/columns/${id}`),
  createCard: (body: CardInput) => api.post<KanbanCard>('/api/v1/cards', body),
  /** A contact's cards on every board, or (no contact) the caller's own. */
  cards: (contactId?: string) => api.get<Page<KanbanCard> | KanbanCard[]>('/api/v1/cards', { query: { contact_id: contactId } }).then((p) => itemsOf(p)),
  updateCard: (id: string, body: CardPatch) => api.patch<KanbanCard>(`/api/v1/cards/${id}`, body),
  deleteCard: (id: string) => api.delete<void>(`/api/v1/cards/${id}`),
};
