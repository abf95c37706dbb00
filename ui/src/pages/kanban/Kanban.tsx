import {
  DndContext, KeyboardSensor, PointerSensor, closestCorners, useDroppable, useSensor, useSensors,
  type DragEndEvent,
} from '@dnd-kit/core';
import { SortableContext, sortableKeyboardCoordinates, useSortable, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import clsx from 'clsx';
import { CalendarClock, ChevronLeft, ChevronRight, KanbanSquare, MoreVertical, Plus, Settings2, Trash2, User as UserIcon } from 'lucide-react';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import { ApiError } from '../../api/client';
import { labels as labelsApi, users as usersApi } from '../../api/endpoints';
import { kanban, type Board, type BoardColumn, type BoardFilters, type ColumnKind, type KanbanCard } from '../../api/kanban';
import type { Label, User } from '../../api/types';
import { useConfirm } from '../../components/ConfirmDialog';
import { PageBody } from '../../components/Shell';
import { Alert, Badge, Button, Card, EmptyState, ErrorState, Field, Input, Modal, Select, SkeletonRows, useErrorText } from '../../components/ui';
import { boardKey, boardsKey, dueRange, formatBRL, kanbanDisabled, moveCard, neighbours, type DueFilter, type Move } from '../../lib/kanban';
import { isSupervisorOrUp, useAuth } from '../../store/auth';
import { CardDrawer } from './CardDrawer';

/** The Kanban console: a board's columns side by side, cards dragged (or moved by menu) between them. */
export default function KanbanPage() {
  const { t } = useTranslation();
  const manager = isSupervisorOrUp(useAuth((s) => s.user?.role));
  const [params, setParams] = useSearchParams();
  const boardsQ = useQuery({ queryKey: boardsKey, queryFn: kanban.boards, retry: false });
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Board | null>(null);
  const boards = boardsQ.data ?? [];
  const boardId = params.get('board') && boards.some((b) => b.id === params.get('board')) ? params.get('board')! : boards[0]?.id;
  const pick = (id: string) => setParams((p) => { p.set('board', id); return p; }, { replace: true });

  if (boardsQ.isError && kanbanDisabled(boardsQ.error)) {
    return (
      <PageBody>
        <div className="mx-auto max-w-3xl" data-testid="kanban-upsell">
          <Card><EmptyState icon={<KanbanSquare className="h-6 w-6" aria-hidden />} title={t('kanban.not_in_plan')} description={t('kanban.upsell')} /></Card>
        </div>
      </PageBody>
    );
  }
  return (
    <div className="flex h-full flex-col">
      <header className="flex flex-wrap items-center gap-2 border-b border-gray-200 bg-white px-3 py-2 sm:px-4">
        <h1 className="mr-2 text-lg font-semibold text-gray-900">{t('kanban.title')}</h1>
        {boards.length > 0 && (
          <Select aria-label={t('kanban.board')} className="!w-auto max-w-[60vw]" value={boardId ?? ''} onChange={(e) => pick(e.target.value)} data-testid="board-picker">
            {boards.map((b) => <option key={b.id} value={b.id}>{b.name}</option>)}
          </Select>
        )}
        {manager && boardId && (
          <Button size="sm" variant="ghost" onClick={() => setEditing(boards.find((b) => b.id === boardId) ?? null)} aria-label={t('kanban.rename_board')} data-testid="edit-board">
            <Settings2 className="h-4 w-4" aria-hidden />
          </Button>
        )}
        {manager && (
          <Button size="sm" variant="outline" onClick={() => setCreating(true)} data-testid="new-board">
            <Plus className="h-4 w-4" aria-hidden /> {t('kanban.new_board')}
          </Button>
        )}
      </header>
      {boardsQ.isPending ? (
        <SkeletonRows />
      ) : boardsQ.isError ? (
        <ErrorState error={boardsQ.error} onRetry={() => boardsQ.refetch()} />
      ) : !boardId ? (
        <PageBody>
          <Card><EmptyState icon={<KanbanSquare className="h-6 w-6" aria-hidden />} title={t('kanban.no_boards')} description={manager ? t('kanban.board_default_columns') : t('kanban.no_boards_agent')}
            action={manager ? <Button onClick={() => setCreating(true)}><Plus className="h-4 w-4" aria-hidden /> {t('kanban.new_board')}</Button> : undefined} /></Card>
        </PageBody>
      ) : (
        <BoardView key={boardId} boardId={boardId} manager={manager} />
      )}
      {creating && <BoardDialog onClose={() => setCreating(false)} onCreated={(b) => pick(b.id)} />}
      {editing && <EditBoardDialog board={editing} onClose={() => setEditing(null)} onDeleted={() => setParams((p) => { p.delete('board'); return p; }, { replace: true })} />}
    </div>
  );
}

function BoardDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (b: Board) => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const errText = useErrorText();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const save = useMutation({
    mutationFn: () => kanban.createBoard({ name: name.trim(), description: description.trim() }),
    onSuccess: (b) => {
      void qc.invalidateQueries({ queryKey: boardsKey });
      qc.setQueryData<Board[]>(boardsKey, (old) => [...(old ?? []).filter((x) => x.id !== b.id), b]);
      onCreated(b);
      onClose();
    },
  });
  const fieldErr = save.error instanceof ApiError ? save.error.fieldErrors : {};
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t('kanban.new_board')} description={t('kanban.board_default_columns')}>
      <form className="space-y-3" onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
        <Field label={t('kanban.board_name')} htmlFor="board-name" error={fieldErr.name}>
          <Input id="board-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={120} autoFocus />
        </Field>
        <Field label={t('kanban.board_description')} htmlFor="board-description" error={fieldErr.description}>
          <Input id="board-description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </Field>
        {save.isError && !Object.keys(fieldErr).length && <Alert>{errText(save.error)}</Alert>}
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending} data-testid="create-board">{t('common.create')}</Button>
        </div>
      </form>
    </Modal>
  );
}

function EditBoardDialog({ board, onClose, onDeleted }: { board: Board; onClose: () => void; onDeleted: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const errText = useErrorText();
  const [ask, confirmDialog] = useConfirm();
  const [name, setName] = useState(board.name);
  const [description, setDescription] = useState(board.description ?? '');
  const done = () => { void qc.invalidateQueries({ queryKey: boardsKey }); void qc.invalidateQueries({ queryKey: boardKey(board.id) }); onClose(); };
  const save = useMutation({ mutationFn: () => kanban.updateBoard(board.id, { name: name.trim(), description: description.trim() }), onSuccess: done });
  const remove = useMutation({ mutationFn: () => kanban.deleteBoard(board.id), onSuccess: () => { onDeleted(); done(); } });
  const fieldErr = save.error instanceof ApiError ? save.error.fieldErrors : {};
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t('kanban.rename_board')}>
      <form className="space-y-3" onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
        <Field label={t('kanban.board_name')} htmlFor="edit-board-name" error={fieldErr.name}>
          <Input id="edit-board-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={120} autoFocus />
        </Field>
        <Field label={t('kanban.board_description')} htmlFor="edit-board-description" error={fieldErr.description}>
          <Input id="edit-board-description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </Field>
        {(save.isError && !Object.keys(fieldErr).length) && <Alert>{errText(save.error)}</Alert>}
        {remove.isError && <Alert>{errText(remove.error)}</Alert>}
        <div className="flex flex-wrap items-center gap-2">
          <Button type="button" size="sm" variant="danger" loading={remove.isPending} data-testid="delete-board"
            onClick={async () => { if (await ask({ message: t('kanban.confirm_delete_board', { name: board.name }) })) remove.mutate(); }}>
            <Trash2 className="h-4 w-4" aria-hidden /> {t('kanban.delete_board')}
          </Button>
          <div className="ml-auto flex gap-2">
            <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
            <Button type="submit" loading={save.isPending} data-testid="save-board">{t('common.save')}</Button>
          </div>
        </div>
      </form>
      {confirmDialog}
    </Modal>
  );
}

function BoardView({ boardId, manager }: { boardId: string; manager: boolean }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const errText = useErrorText();
  const me = useAuth((s) => s.user?.id);
  const [assignee, setAssignee] = useState('');
  const [labelId, setLabelId] = useState('');
  const [due, setDue] = useState<DueFilter>('');
  // the due range is computed when the filter changes, not on every render
  const filters: BoardFilters = useMemo(() => ({ assignee_id: assignee || undefined, label_id: labelId || undefined, ...dueRange(due) }), [assignee, labelId, due]);
  const key = [...boardKey(boardId), filters] as const;
  const q = useQuery({ queryKey: key, queryFn: () => kanban.board(boardId, filters), retry: false });
  const usersQ = useQuery({ queryKey: ['users'], queryFn: () => usersApi.list(), retry: false, staleTime: 60_000 });
  const labelsQ = useQuery({ queryKey: ['labels'], queryFn: () => labelsApi.list(), retry: false, staleTime: 60_000 });
  const [openCard, setOpenCard] = useState<string | null>(null);
  const [editColumn, setEditColumn] = useState<BoardColumn | null>(null);
  const [addingColumn, setAddingColumn] = useState(false);
  const [notice, setNotice] = useState<{ kind: 'error' | 'success'; text: string } | null>(null);
  const board = q.data;
  const columns = useMemo(() => [...(board?.columns ?? [])].sort((a, b) => a.position - b.position), [board]);
  const cards = board?.cards ?? [];
  const byColumn = useMemo(() => {
    const m = new Map<string, KanbanCard[]>();
    for (const c of columns) m.set(c.id, []);
    for (const c of cards) m.get(c.column_id)?.push(c);
    return m;
  }, [columns, cards]);

  const move = useMutation({
    mutationFn: ({ id, to }: { id: string; to: Move }) => kanban.updateCard(id, to),
    onMutate: async ({ id, to }) => {
      await qc.cancelQueries({ queryKey: key });
      const before = qc.getQueryData<Board>(key);
      if (before) qc.setQueryData<Board>(key, moveCard(before, id, to));
      return { before };
    },
    onError: (err, _v, ctx) => {
      if (ctx?.before) qc.setQueryData(key, ctx.before);
      setNotice({ kind: 'error', text: `${t('kanban.move_failed')} ${errText(err)}` });
    },
    onSuccess: (card, { to }) => {
      const col = columns.find((c) => c.id === to.column_id);
      setNotice({ kind: 'success', text: t('kanban.moved', { column: col?.name ?? '' }) });
      qc.setQueryData<Board>(key, (b) => (b ? { ...b, cards: (b.cards ?? []).map((c) => (c.id === card.id ? { ...c, rank: card.rank } : c)) } : b));
    },
    // the columns' totals are the server's sums
    onSettled: () => qc.invalidateQueries({ queryKey: boardKey(boardId) }),
  });
  const sendMove = (id: string, to: Move) => move.mutate({ id, to });

  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 6 } }),
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }),
  );
  function onDragEnd(e: DragEndEvent) {
    const id = String(e.active.id);
    const overId = e.over ? String(e.over.id) : null;
    if (!overId || overId === id) return;
    const card = cards.find((c) => c.id === id);
    if (!card) return;
    let columnId: string;
    let index: number;
    if (byColumn.has(overId)) {
      columnId = overId;
      index = (byColumn.get(overId) ?? []).filter((c) => c.id !== id).length;
    } else {
      const target = cards.find((c) => c.id === overId);
      if (!target) return;
      columnId = target.column_id;
      // the card takes the target's place: within a column as arrayMove does, from another column before it
      index = (byColumn.get(columnId) ?? []).findIndex((c) => c.id === overId);
    }
    const list = byColumn.get(columnId) ?? [];
    const fromIndex = list.findIndex((c) => c.id === id);
    if (fromIndex >= 0 && fromIndex === index) return;
    sendMove(id, { column_id: columnId, ...neighbours(list, id, index) });
  }

  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(null), 4000);
    return () => clearTimeout(timer);
  }, [notice]);

  const users = usersQ.data ?? [];
  const labels = labelsQ.data ?? [];
  const filtered = !!(assignee || labelId || due);
  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div className="flex flex-wrap items-center gap-2 border-b border-gray-200 bg-white px-3 py-2 sm:px-4" role="group" aria-label={t('kanban.filters')}>
        <Select aria-label={t('kanban.assignee')} className="!w-auto max-w-full" value={assignee} onChange={(e) => setAssignee(e.target.value)} data-testid="filter-assignee">
          <option value="">{t('kanban.assignee')}: {t('kanban.anyone')}</option>
          <option value="me">{t('kanban.me')}</option>
          <option value="none">{t('kanban.nobody')}</option>
          {users.filter((u) => u.active !== false && u.id !== me).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
        </Select>
        <Select aria-label={t('kanban.label')} className="!w-auto max-w-full" value={labelId} onChange={(e) => setLabelId(e.target.value)} data-testid="filter-label">
          <option value="">{t('kanban.any_label')}</option>
          {labels.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
        </Select>
        <Select aria-label={t('kanban.due')} className="!w-auto max-w-full" value={due} onChange={(e) => setDue(e.target.value as DueFilter)} data-testid="filter-due">
          <option value="">{t('kanban.any_due')}</option>
          <option value="overdue">{t('kanban.overdue')}</option>
          <option value="week">{t('kanban.next_7_days')}</option>
        </Select>
        {filtered && <Button size="sm" variant="ghost" onClick={() => { setAssignee(''); setLabelId(''); setDue(''); }}>{t('kanban.clear_filters')}</Button>}
        <p className="ml-auto hidden text-xs text-gray-500 lg:block">{t('kanban.drag_hint')}</p>
      </div>
      {notice && <Alert kind={notice.kind} className="mx-3 mt-2">{notice.text}</Alert>}
      {q.isPending ? (
        <SkeletonRows />
      ) : q.isError ? (
        <ErrorState error={q.error} onRetry={() => q.refetch()} />
      ) : (
        <DndContext sensors={sensors} collisionDetection={closestCorners} onDragEnd={onDragEnd}>
          <div className="flex min-h-0 flex-1 gap-3 overflow-x-auto overscroll-x-contain p-3 sm:p-4" role="list" aria-label={t('kanban.columns_label')} data-testid="kanban-board">
            {columns.map((col, i) => (
              <ColumnView key={col.id} column={col} cards={byColumn.get(col.id) ?? []} columns={columns} users={users} labels={labels}
                manager={manager} boardId={boardId} onOpen={setOpenCard} onMove={sendMove} onSettings={() => setEditColumn(col)}
                first={i === 0} />
            ))}
            {manager && (
              <div className="w-72 shrink-0">
                <Button variant="outline" className="w-full" onClick={() => setAddingColumn(true)} data-testid="add-column"><Plus className="h-4 w-4" aria-hidden /> {t('kanban.add_column')}</Button>
              </div>
            )}
          </div>
        </DndContext>
      )}
      {openCard && board && (
        <CardDrawer card={cards.find((c) => c.id === openCard) ?? null} board={board} users={users} labels={labels} onClose={() => setOpenCard(null)} />
      )}
      {(editColumn || addingColumn) && board && (
        <ColumnDialog board={board} column={editColumn} onClose={() => { setEditColumn(null); setAddingColumn(false); }} />
      )}
    </div>
  );
}

function ColumnView({ column, cards, columns, users, labels, manager, boardId, onOpen, onMove, onSettings }: {
  column: BoardColumn; cards: KanbanCard[]; columns: BoardColumn[]; users: User[]; labels: Label[]; manager: boolean; boardId: string; first: boolean;
  onOpen: (id: string) => void; onMove: (id: string, to: Move) => void; onSettings: () => void;
}) {
  const { t } = useTranslation();
  const { setNodeRef, isOver } = useDroppable({ id: column.id });
  const [adding, setAdding] = useState(false);
  return (
    <section role="listitem" aria-label={column.name} data-testid={`column-${column.id}`}
      className={clsx('flex max-h-full w-[85vw] max-w-[18rem] shrink-0 flex-col rounded-xl bg-gray-100 sm:w-72', isOver && 'ring-2 ring-brand-400')}>
      <header className="flex items-start gap-2 px-3 pb-2 pt-3">
        <span className="mt-1.5 h-2.5 w-2.5 shrink-0 rounded-full" style={{ backgroundColor: column.color }} aria-hidden />
        <div className="min-w-0 flex-1">
          <h2 className="flex flex-wrap items-center gap-1.5 text-sm font-semibold text-gray-900">
            <span className="truncate">{column.name}</span>
            {column.kind === 'won' && <Badge color="#15803d">{t('kanban.won')}</Badge>}
            {column.kind === 'lost' && <Badge color="#b91c1c">{t('kanban.lost')}</Badge>}
          </h2>
          <p className="text-xs text-gray-600">
            <span data-testid="column-count">{t('kanban.cards_count', { count: column.count })}</span>
            {' · '}
            <span className="font-medium tabular-nums text-gray-800" data-testid="column-total">{formatBRL(column.total)}</span>
          </p>
        </div>
        {manager && (
          <button type="button" onClick={onSettings} className="rounded p-1 text-gray-500 hover:bg-gray-200 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500"
            aria-label={t('kanban.column_settings', { name: column.name })}>
            <Settings2 className="h-4 w-4" aria-hidden />
          </button>
        )}
      </header>
      <SortableContext id={column.id} items={cards.map((c) => c.id)} strategy={verticalListSortingStrategy}>
        <ul ref={setNodeRef} className="min-h-[3rem] flex-1 space-y-2 overflow-y-auto px-2 pb-2" aria-label={column.name}>
          {cards.length === 0 && <li className="px-1 py-3 text-center text-xs text-gray-400">{t('kanban.empty_column')}</li>}
          {cards.map((c, i) => (
            <SortableCard key={c.id} card={c} column={column} columns={columns} users={users} labels={labels}
              prev={cards[i - 1]} next={cards[i + 1]} onOpen={onOpen} onMove={onMove} />
          ))}
        </ul>
      </SortableContext>
      <div className="px-2 pb-2">
        {adding ? <QuickAdd boardId={boardId} columnId={column.id} onDone={() => setAdding(false)} /> : (
          <button type="button" onClick={() => setAdding(true)} className="flex w-full items-center gap-1 rounded-md px-2 py-1.5 text-sm text-gray-600 hover:bg-gray-200 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500">
            <Plus className="h-4 w-4" aria-hidden /> {t('kanban.add_card')}
          </button>
        )}
      </div>
    </section>
  );
}

function QuickAdd({ boardId, columnId, onDone }: { boardId: string; columnId: string; onDone: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const errText = useErrorText();
  const [title, setTitle] = useState('');
  const create = useMutation({
    mutationFn: () => kanban.createCard({ board_id: boardId, column_id: columnId, title: title.trim() }),
    onSuccess: () => { void qc.invalidateQueries({ queryKey: boardKey(boardId) }); setTitle(''); onDone(); },
  });
  return (
    <form onSubmit={(e) => { e.preventDefault(); if (title.trim()) create.mutate(); }} className="space-y-1">
      <Input aria-label={t('kanban.new_card_title')} placeholder={t('kanban.new_card_title')} value={title} onChange={(e) => setTitle(e.target.value)} autoFocus
        onKeyDown={(e) => e.key === 'Escape' && onDone()} maxLength={200} />
      {create.isError && <p className="text-xs text-red-600" role="alert">{errText(create.error)}</p>}
      <div className="flex gap-1">
        <Button size="sm" type="submit" loading={create.isPending}>{t('common.create')}</Button>
        <Button size="sm" type="button" variant="ghost" onClick={onDone}>{t('common.cancel')}</Button>
      </div>
    </form>
  );
}

function SortableCard({ card, column, columns, users, labels, prev, next, onOpen, onMove }: {
  card: KanbanCard; column: BoardColumn; columns: BoardColumn[]; users: User[]; labels: Label[]; prev?: KanbanCard; next?: KanbanCard;
  onOpen: (id: string) => void; onMove: (id: string, to: Move) => void;
}) {
  const { t } = useTranslation();
  const { attributes, listeners, setNodeRef, transform, transition, isDragging } = useSortable({ id: card.id });
  const [menu, setMenu] = useState(false);
  const menuRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!menu) return;
    const close = (e: MouseEvent) => { if (!menuRef.current?.contains(e.target as Node)) setMenu(false); };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [menu]);
  const assignee = users.find((u) => u.id === card.assignee_id);
  const overdue = !!card.due_at && new Date(card.due_at).getTime() < Date.now() && column.kind === 'open';
  const go = (to: Move) => { setMenu(false); onMove(card.id, to); };
  return (
    <li ref={setNodeRef} style={{ transform: CSS.Translate.toString(transform), transition }} data-testid={`card-${card.id}`}
      className={clsx('group relative rounded-lg border border-gray-200 bg-white shadow-sm', isDragging && 'z-10 opacity-60 shadow-lg')}>
      <div {...attributes} {...listeners} role="button" tabIndex={0} aria-roledescription={t('kanban.card')}
        aria-describedby={undefined}
        onClick={() => onOpen(card.id)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') { e.preventDefault(); onOpen(card.id); return; }
          listeners?.onKeyDown?.(e);
        }}
        className="cursor-grab touch-manipulation rounded-lg p-2.5 pr-8 text-left focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500 active:cursor-grabbing">
        <p className="break-words text-sm font-medium text-gray-900">{card.title}</p>
        {card.contact_name && <p className="mt-0.5 truncate text-xs text-gray-500">{card.contact_name}</p>}
        <div className="mt-1.5 flex flex-wrap items-center gap-1.5 text-xs">
          {Number(card.value) > 0 && <span className="font-medium tabular-nums text-gray-800" data-testid="card-value">{formatBRL(card.value)}</span>}
          {card.due_at && (
            <span className={clsx('inline-flex items-center gap-0.5', overdue ? 'font-medium text-red-600' : 'text-gray-500')}>
              <CalendarClock className="h-3 w-3" aria-hidden /> {new Date(card.due_at).toLocaleDateString()}
              {overdue && <span className="sr-only"> ({t('kanban.overdue_badge')})</span>}
            </span>
          )}
          {assignee && <span className="inline-flex items-center gap-0.5 text-gray-500"><UserIcon className="h-3 w-3" aria-hidden /> {assignee.name}</span>}
        </div>
        {(card.label_ids ?? []).length > 0 && (
          <div className="mt-1.5 flex flex-wrap gap-1">
            {(card.label_ids ?? []).map((id) => { const l = labels.find((x) => x.id === id); return l ? <Badge key={id} color={l.color}>{l.name}</Badge> : null; })}
          </div>
        )}
      </div>
      <div ref={menuRef} className="absolute right-1 top-1">
        <button type="button" onClick={() => setMenu((m) => !m)} aria-haspopup="menu" aria-expanded={menu}
          aria-label={t('kanban.move_card', { title: card.title })} title={t('kanban.move_to')}
          className="rounded p-1 text-gray-400 hover:bg-gray-100 hover:text-gray-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500">
          <MoreVertical className="h-4 w-4" aria-hidden />
        </button>
        {menu && (
          <div role="menu" aria-label={t('kanban.move_to')} className="absolute right-0 z-30 mt-1 w-52 rounded-lg border border-gray-200 bg-white py-1 shadow-lg"
            onKeyDown={(e) => e.key === 'Escape' && setMenu(false)}>
            <p className="px-3 py-1 text-xs font-semibold uppercase text-gray-500">{t('kanban.move_to')}</p>
            {prev && <MenuItem onClick={() => go({ column_id: column.id, before_id: prev.id })}>{t('kanban.move_up')}</MenuItem>}
            {next && <MenuItem onClick={() => go({ column_id: column.id, after_id: next.id })}>{t('kanban.move_down')}</MenuItem>}
            {columns.filter((c) => c.id !== column.id).map((c) => (
              <MenuItem key={c.id} onClick={() => go({ column_id: c.id })}>
                <span className="h-2 w-2 shrink-0 rounded-full" style={{ backgroundColor: c.color }} aria-hidden /> {c.name}
              </MenuItem>
            ))}
          </div>
        )}
      </div>
    </li>
  );
}

function MenuItem({ onClick, children }: { onClick: () => void; children: React.ReactNode }) {
  return (
    <button type="button" role="menuitem" onClick={onClick} className="flex w-full items-center gap-2 px-3 py-1.5 text-left text-sm text-gray-800 hover:bg-gray-100 focus:bg-gray-100 focus:outline-none">
      {children}
    </button>
  );
}

const KINDS: ColumnKind[] = ['open', 'won', 'lost'];

function ColumnDialog({ board, column, onClose }: { board: Board; column: BoardColumn | null; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const errText = useErrorText();
  const [ask, confirmDialog] = useConfirm();
  const [name, setName] = useState(column?.name ?? '');
  const [color, setColor] = useState(column?.color ?? '#64748b');
  const [kind, setKind] = useState<ColumnKind>(column?.kind ?? 'open');
  const [error, setError] = useState<string | null>(null);
  const count = (board.columns ?? []).length;
  const refresh = () => qc.invalidateQueries({ queryKey: boardKey(board.id) });
  const fail = (err: unknown) => setError(err instanceof ApiError && err.code === 'column_not_empty' ? t('kanban.column_not_empty') : errText(err));
  const save = useMutation({
    mutationFn: () => (column ? kanban.updateColumn(column.id, { name: name.trim(), color, kind }) : kanban.createColumn(board.id, { name: name.trim(), color, kind })),
    onSuccess: () => { void refresh(); onClose(); },
    onError: fail,
  });
  const reorder = useMutation({
    mutationFn: (position: number) => kanban.updateColumn(column!.id, { position }),
    onSuccess: () => { void refresh(); onClose(); },
    onError: fail,
  });
  const remove = useMutation({
    mutationFn: () => kanban.deleteColumn(column!.id),
    onSuccess: () => { void refresh(); onClose(); },
    onError: fail,
  });
  const fieldErr = save.error instanceof ApiError ? save.error.fieldErrors : {};
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={column ? t('kanban.column_settings', { name: column.name }) : t('kanban.add_column')}>
      <form className="space-y-3" onSubmit={(e) => { e.preventDefault(); setError(null); save.mutate(); }}>
        <Field label={t('kanban.column_name')} htmlFor="column-name" error={fieldErr.name}>
          <Input id="column-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={120} autoFocus />
        </Field>
        <div className="flex gap-3">
          <Field label={t('kanban.color')} htmlFor="column-color" error={fieldErr.color}>
            <Input id="column-color" type="color" className="h-10 w-16 p-1" value={color} onChange={(e) => setColor(e.target.value)} />
          </Field>
          <Field label={t('kanban.kind')} htmlFor="column-kind" error={fieldErr.kind} className="flex-1">
            <Select id="column-kind" value={kind} onChange={(e) => setKind(e.target.value as ColumnKind)}>
              {KINDS.map((k) => <option key={k} value={k}>{t(`kanban.kind_${k}`)}</option>)}
            </Select>
          </Field>
        </div>
        {error && <div data-testid="column-error"><Alert>{error}</Alert></div>}
        <div className="flex flex-wrap items-center gap-2">
          {column && (
            <>
              <Button type="button" size="sm" variant="outline" disabled={column.position <= 0 || reorder.isPending} onClick={() => reorder.mutate(column.position - 1)} aria-label={t('kanban.move_left')}>
                <ChevronLeft className="h-4 w-4" aria-hidden />
              </Button>
              <Button type="button" size="sm" variant="outline" disabled={column.position >= count - 1 || reorder.isPending} onClick={() => reorder.mutate(column.position + 1)} aria-label={t('kanban.move_right')}>
                <ChevronRight className="h-4 w-4" aria-hidden />
              </Button>
              <Button type="button" size="sm" variant="danger" loading={remove.isPending} data-testid="delete-column"
                onClick={async () => { setError(null); if (await ask({ message: t('kanban.confirm_delete_column', { name: column.name }) })) remove.mutate(); }}>
                <Trash2 className="h-4 w-4" aria-hidden /> {t('kanban.delete_column')}
              </Button>
            </>
          )}
          <div className="ml-auto flex gap-2">
            <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
            <Button type="submit" loading={save.isPending} data-testid="save-column">{t('common.save')}</Button>
          </div>
        </div>
      </form>
      {confirmDialog}
    </Modal>
  );
}
