import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import clsx from 'clsx';
import { ArrowLeft, ArrowRightLeft, Bot, CheckCircle2, Clock, Eye, FileText, Keyboard, MessageCircle, Mic, Paperclip, RotateCcw, Search, Send, Smile, Square, StickyNote, Tag, UserPlus, X } from 'lucide-react';
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent as ReactKeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { conversations, labels, media, quickReplies, teams, users } from '../api/endpoints';
import { CONVERSATION_STATUSES, type Conversation, type Message, type MessageType, type QuickReply, type SendMessageRequest } from '../api/types';
import { ApiError } from '../api/client';
import { TemplatePicker } from '../components/TemplatePicker';
import { messagePreview } from '../components/chat/MessageBubble';
import { MessageList, mergeNotes } from '../components/chat/MessageList';
import { fixtureConversation, fixtureMessages } from '../components/chat/fixtures';
import { ChannelIcon } from '../components/chat/ChannelIcon';
import { ContactPanel } from '../components/ContactPanel';
import { LabelsDialog, TransferDialog } from '../components/ConversationActions';
import { BotActiveBadge, HandToFlowDialog, useChatbotEnabled } from '../components/ConversationBot';
import { sendRealtime } from '../components/RealtimeProvider';
import { ScheduleDialog, ScheduledChip } from '../components/ScheduledMessages';
import { FormError } from '../components/FormError';
import { QueueBoard, queueTotal, useQueues } from '../components/QueueBoard';
import { SlaBadge } from '../components/SlaBadge';
import { Avatar, Badge, Button, EmptyState, ErrorState, Modal, Select, SkeletonRows, notBuiltYet, useErrorText } from '../components/ui';
import { formatDateTime, formatPhone, listTime, newIdempotencyKey } from '../lib/format';
import { draftKey, useDraft } from '../lib/drafts';
import { useStickToBottom } from '../lib/useStickToBottom';
import { useDebounced } from '../lib/useDebounced';
import { isAdmin, useAuth } from '../store/auth';
import { usePresence } from '../store/presence';
import type { Role } from '../api/types';

export { ChannelIcon };

export type InboxTab = 'mine' | 'queue' | 'teams' | 'all' | 'queues';

const PAGE = 50;

/** The list's default status filter: open, in progress and waiting. */
export const ACTIVE_STATUSES = 'open,in_progress,waiting';

/** Names of the tenant's users by id (agents may read the user list). */
export function useUserNames(): Map<string, string> {
  const q = useQuery({ queryKey: ['users'], queryFn: () => users.list(), staleTime: 5 * 60_000, retry: false });
  return useMemo(() => new Map((q.data ?? []).map((u) => [u.id, u.name])), [q.data]);
}

/** The tabs a role sees: agents their own and the queue; supervisors and admins add their teams, "Todas" (for a supervisor, everything of their teams: the server scopes it) and the team queues ("Filas"). */
export function tabsFor(role?: Role | null): InboxTab[] {
  if (role === 'TENANT_ADMIN' || role === 'SUPERVISOR') return ['mine', 'queue', 'teams', 'all', 'queues'];
  return ['mine', 'queue'];
}

/** The list query of a tab (GET /api/v1/conversations: assignee_id "me" | "none", team_id). */
export function tabQuery(tab: InboxTab, teamId?: string): Record<string, string | undefined> {
  switch (tab) {
    case 'mine': return { assignee_id: 'me' };
    case 'queue': return { assignee_id: 'none' };
    case 'teams': return { team_id: teamId };
    default: return {};
  }
}


/** Who the list preview names before an outbound last message: "Você", the agent, or the bot (none for the customer). */
export function previewSender(c: Conversation, me: string | undefined, t: (key: string) => string): string | null {
  if ((c.last_message?.direction ?? c.last_message_direction) !== 'outbound') return null;
  const s = c.last_message_sender;
  if (!s) return null;
  if (s.user_id) return s.user_id === me ? t('chat.you') : s.name || null;
  return ['bot', 'campaign', 'schedule', 'api'].includes(s.via) ? t(`chat.via.${s.via}`) : null;
}

export function ConversationRow({ c, active, labelsById, assignee }: { c: Conversation; active: boolean; labelsById: Map<string, { name: string; color: string }>; assignee?: string }) {
  const { t } = useTranslation();
  const me = useAuth((s) => s.user?.id);
  const preview = c.last_message ? messagePreview({ ...c.last_message, location: null, contacts: null }, t) : c.last_message_preview ?? '';
  const sender = previewSender(c, me, t);
  const assigneeName = c.assignee_name ?? assignee;
  return (
    <Link to={`/inbox/${c.id}`} data-testid="conversation-row" aria-current={active ? 'true' : undefined}
      className={clsx('flex gap-3 border-b border-gray-100 px-3 py-2.5 focus:outline-none focus-visible:bg-brand-50', active ? 'bg-gray-100' : 'hover:bg-gray-50')}>
      <Avatar name={c.contact?.name || c.contact?.phone} className="h-12 w-12" />
      <div className="min-w-0 flex-1">
        <div className="flex items-baseline justify-between gap-2">
          <p className="flex min-w-0 items-center gap-1.5 truncate font-medium text-gray-900">
            <ChannelIcon channel={c.channel} className="shrink-0" />
            <span className="truncate">{c.contact?.name || formatPhone(c.contact?.phone) || t('inbox.unknown_contact')}</span>
          </p>
          <span className={clsx('shrink-0 text-xs', (c.unread_count ?? 0) > 0 ? 'font-medium text-brand-600' : 'text-gray-500')}>{listTime(c.last_message_at ?? c.last_message?.created_at ?? c.last_activity_at)}</span>
        </div>
        <div className="flex items-center justify-between gap-2">
          <p className="truncate text-sm text-gray-500">{sender && <span className="text-gray-400" data-testid="preview-sender">{sender}: </span>}{preview}</p>
          <SlaBadge dueAt={c.sla_due_at} />
          {(c.unread_count ?? 0) > 0 && (
            <span className="flex h-5 min-w-[20px] shrink-0 items-center justify-center rounded-full bg-brand-500 px-1.5 text-[11px] font-semibold text-white" aria-label={t('inbox.unread', { count: c.unread_count })}>{c.unread_count}</span>
          )}
        </div>
        <div className="mt-0.5 flex flex-wrap items-center gap-1">
          {assigneeName && <span className="text-[11px] text-gray-500">{t('inbox.assigned_to', { name: assigneeName })}</span>}
          {(c.label_ids ?? []).map((id) => {
            const l = labelsById.get(id);
            return l ? <Badge key={id} color={l.color} className="text-[10px]">{l.name}</Badge> : null;
          })}
        </div>
      </div>
    </Link>
  );
}

/** The messages whose text matches the search box, each opening its conversation at the message. */
export function MessageHits({ q }: { q: string }) {
  const { t } = useTranslation();
  const hits = useQuery({ queryKey: ['message-search', q], queryFn: () => conversations.searchMessages(q, { limit: 20 }), enabled: q.length >= 2, retry: false });
  if (q.length < 2) return null;
  const items = hits.data?.items ?? [];
  return (
    <section aria-label={t('inbox.message_hits')} data-testid="message-hits">
      <h2 className="bg-chat-panel px-3 py-1.5 text-xs font-semibold uppercase tracking-wide text-gray-500">{t('inbox.message_hits')}</h2>
      {hits.isPending ? <SkeletonRows rows={2} /> : hits.isError ? (
        <p className="px-3 py-2 text-sm text-red-600" role="alert">{t('inbox.message_search_failed')}</p>
      ) : items.length === 0 ? (
        <p className="px-3 py-2 text-sm text-gray-500">{t('inbox.no_message_hits')}</p>
      ) : items.map(({ message: m, conversation: c }) => (
        <Link key={m.id} to={`/inbox/${c.id}?m=${encodeURIComponent(m.id)}&seq=${m.seq}`} data-testid="message-hit"
          className="block border-b border-gray-100 px-3 py-2 hover:bg-gray-50 focus:outline-none focus-visible:bg-brand-50">
          <div className="flex items-baseline justify-between gap-2">
            <span className="truncate text-sm font-medium text-gray-900">{c.contact?.name || formatPhone(c.contact?.phone) || t('inbox.unknown_contact')}</span>
            <span className="shrink-0 text-xs text-gray-500">{listTime(m.created_at)}</span>
          </div>
          <p className="line-clamp-2 text-sm text-gray-600">{m.direction === 'outbound' && <span className="text-gray-400">{t('chat.you')}: </span>}{m.text}</p>
        </Link>
      ))}
    </section>
  );
}

function ConversationList({ activeId, onOrder }: { activeId?: string; onOrder: (ids: string[]) => void }) {
  const { t } = useTranslation();
  const user = useAuth((s) => s.user);
  const tabs = tabsFor(user?.role);
  const [tab, setTab] = useState<InboxTab>(tabs[0]);
  // default: everything not resolved (a reply moves a conversation to in_progress; it must stay in the list)
  const [status, setStatus] = useState(ACTIVE_STATUSES);
  const [labelId, setLabelId] = useState('');
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 300);
  const labelsQ = useQuery({ queryKey: ['labels'], queryFn: () => labels.list() });
  const labelsById = useMemo(() => new Map((labelsQ.data ?? []).map((l) => [l.id, l])), [labelsQ.data]);
  const userNames = useUserNames();
  const teamsQ = useQuery({ queryKey: ['teams'], queryFn: () => teams.list(), enabled: tab === 'teams' });
  const myTeams = useMemo(() => (teamsQ.data ?? []).filter((tm) => (tm.member_ids ?? []).includes(user?.id ?? '')), [teamsQ.data, user?.id]);
  const [teamId, setTeamId] = useState('');
  const team = teamId || myTeams[0]?.id || '';
  const noTeam = tab === 'teams' && teamsQ.isSuccess && myTeams.length === 0;
  const list = useInfiniteQuery({
    queryKey: ['conversations', tab, team, status, labelId, q],
    queryFn: ({ pageParam }) => conversations.page({ ...tabQuery(tab, team), status: status || undefined, label_id: labelId, q, cursor: pageParam, limit: 30 }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: tab !== 'queues' && (tab !== 'teams' || !!team),
    retry: false,
  });
  // supervisors and admins see how many wait in their teams' queues
  const queuesQ = useQueues(tabs.includes('queues'));
  const waiting = queueTotal(queuesQ.data);
  const items = useMemo(() => list.data?.pages.flatMap((p) => p.items ?? []) ?? [], [list.data]);
  useEffect(() => onOrder(items.map((c) => c.id)), [items, onOrder]);
  const sentinel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = sentinel.current;
    if (!el || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver((entries) => {
      if (entries[0]?.isIntersecting && list.hasNextPage && !list.isFetchingNextPage) void list.fetchNextPage();
    });
    io.observe(el);
    return () => io.disconnect();
  }, [list]);

  return (
    <div className="flex h-full flex-col bg-white">
      <div className="bg-white px-3 pb-2 pt-3">
        <h1 className="mb-2 text-lg font-semibold text-gray-900">{t('inbox.title')}</h1>
        <div className="relative">
          <Search className="pointer-events-none absolute left-3 top-2.5 h-4 w-4 text-gray-400" aria-hidden />
          <input id="inbox-search" className="w-full rounded-lg bg-chat-panel py-2 pl-9 pr-3 text-sm placeholder:text-gray-500 focus:outline-none focus:ring-2 focus:ring-brand-500/40"
            placeholder={t('inbox.search_placeholder')} aria-label={t('inbox.search_placeholder')} value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <div className="mt-2 flex gap-1 overflow-x-auto" role="tablist" aria-label={t('inbox.tabs_label')}>
          {tabs.map((x) => (
            <button key={x} role="tab" aria-selected={tab === x} onClick={() => setTab(x)} data-testid={`tab-${x}`}
              className={clsx('whitespace-nowrap rounded-full px-3 py-1 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500', tab === x ? 'bg-brand-100 font-medium text-brand-700' : 'bg-chat-panel text-gray-600 hover:bg-gray-200')}>
              {x === 'queues' ? t('queues.tab') : t(`inbox.tabs.${x}`)}
              {x === 'queues' && waiting > 0 && (
                <span className="ml-1 inline-flex h-5 min-w-[20px] items-center justify-center rounded-full bg-amber-500 px-1.5 text-[11px] font-semibold text-white" data-testid="queue-count" aria-label={t('queues.count', { count: waiting })}>{waiting}</span>
              )}
            </button>
          ))}
        </div>
        {tab === 'teams' && myTeams.length > 1 && (
          <Select className="mt-2 py-1 text-xs" value={team} onChange={(e) => setTeamId(e.target.value)} aria-label={t('inbox.choose_team')}>
            {myTeams.map((tm) => <option key={tm.id} value={tm.id}>{tm.name}</option>)}
          </Select>
        )}
        {tab !== 'queues' && <div className="mt-2 flex gap-2">
          <Select className="py-1 text-xs" value={status} onChange={(e) => setStatus(e.target.value)} aria-label={t('inbox.filter_status')}>
            <option value={ACTIVE_STATUSES}>{t('inbox.active_statuses')}</option>
            <option value="">{t('inbox.all_statuses')}</option>
            {CONVERSATION_STATUSES.map((s) => <option key={s} value={s}>{t(`inbox.status.${s}`)}</option>)}
          </Select>
          <Select className="py-1 text-xs" value={labelId} onChange={(e) => setLabelId(e.target.value)} aria-label={t('inbox.filter_label')}>
            <option value="">{t('contacts.all_labels')}</option>
            {(labelsQ.data ?? []).map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
          </Select>
        </div>}
      </div>
      <div className="min-h-0 flex-1 overflow-y-auto border-t border-gray-100 scroll-thin" data-testid="conversation-list">
        {tab === 'queues' ? (
          <QueueBoard />
        ) : noTeam ? (
          <EmptyState icon={<MessageCircle className="h-6 w-6" aria-hidden />} title={t('inbox.no_team')} description={t('inbox.no_team_hint')} />
        ) : list.isPending ? (
          <SkeletonRows rows={7} />
        ) : list.isError && !notBuiltYet(list.error) ? (
          <ErrorState error={list.error} onRetry={() => list.refetch()} />
        ) : items.length === 0 && q.length >= 2 ? (
          <>
            <p className="px-3 py-2 text-sm text-gray-500">{t('inbox.no_conversation_hits')}</p>
            <MessageHits q={q} />
          </>
        ) : items.length === 0 ? (
          <EmptyState icon={<MessageCircle className="h-6 w-6" aria-hidden />} title={q || labelId ? t('common.no_results') : t(`inbox.empty.${tab}`)} description={t('inbox.empty_hint')} />
        ) : (
          <>
            {items.map((c) => <ConversationRow key={c.id} c={c} active={c.id === activeId} labelsById={labelsById} assignee={c.assignee_id ? userNames.get(c.assignee_id) : undefined} />)}
            <div ref={sentinel} className="h-8">{list.isFetchingNextPage && <SkeletonRows rows={1} />}</div>
            <MessageHits q={q} />
          </>
        )}
      </div>
    </div>
  );
}

const EMOJIS = ['😀', '😂', '😊', '😍', '🙏', '👍', '👏', '🙌', '🎉', '❤️', '🔥', '✅', '😉', '🤔', '😢', '😅', '🚚', '📦', '💰', '📅', '⏰', '📍', '📞', '✨'];

/** Records a voice note in the browser (MediaRecorder; Ogg/Opus when the browser can, else WebM). */
function useVoiceRecorder() {
  const [recording, setRecording] = useState(false);
  const [error, setError] = useState(false);
  const rec = useRef<MediaRecorder | null>(null);
  const chunks = useRef<Blob[]>([]);
  const supported = typeof window !== 'undefined' && typeof window.MediaRecorder !== 'undefined' && !!navigator.mediaDevices?.getUserMedia;
  async function start() {
    setError(false);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const mimeType = ['audio/ogg;codecs=opus', 'audio/webm;codecs=opus'].find((m) => MediaRecorder.isTypeSupported(m));
      const r = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
      chunks.current = [];
      r.ondataavailable = (e) => {
        if (e.data.size) chunks.current.push(e.data);
      };
      r.start();
      rec.current = r;
      setRecording(true);
    } catch {
      setError(true);
    }
  }
  function stop(): Promise<Blob | null> {
    const r = rec.current;
    if (!r) return Promise.resolve(null);
    return new Promise((resolve) => {
      r.onstop = () => {
        r.stream.getTracks().forEach((tr) => tr.stop());
        rec.current = null;
        setRecording(false);
        resolve(new Blob(chunks.current, { type: r.mimeType || 'audio/webm' }));
      };
      r.stop();
    });
  }
  useEffect(() => () => rec.current?.stream.getTracks().forEach((tr) => tr.stop()), []);
  return { supported, recording, error, start, stop };
}

/** Other agents who have this conversation open right now. */
function AlsoViewing({ conversationId }: { conversationId: string }) {
  const { t } = useTranslation();
  const me = useAuth((s) => s.user?.id);
  const byUser = usePresence((s) => s.byUser);
  const names = useUserNames();
  const others = Object.entries(byUser).filter(([id, p]) => id !== me && p.online && p.viewing.includes(conversationId)).map(([id]) => names.get(id) ?? '…');
  if (!others.length) return null;
  return <p className="flex items-center gap-1 text-xs text-sky-700" data-testid="also-viewing"><Eye className="h-3 w-3" aria-hidden /> {t('inbox.also_viewing', { names: others.join(', ') })}</p>;
}

/** The 24-hour customer service window: time left, or closed. */
export function WindowCountdown({ expiresAt, now = Date.now() }: { expiresAt?: string | null; now?: number }) {
  const { t } = useTranslation();
  if (!expiresAt) return null;
  const left = new Date(expiresAt).getTime() - now;
  if (left <= 0) return <span className="inline-flex items-center gap-1 text-xs text-red-600"><Clock className="h-3 w-3" aria-hidden /> {t('inbox.window_closed')}</span>;
  const h = Math.floor(left / 3_600_000);
  const m = Math.floor((left % 3_600_000) / 60_000);
  return <span className={clsx('inline-flex items-center gap-1 text-xs', h < 1 ? 'text-amber-600' : 'text-gray-500')} data-testid="window-countdown"><Clock className="h-3 w-3" aria-hidden /> {t('inbox.window_left', { time: `${h}h${String(m).padStart(2, '0')}` })}</span>;
}

/** What the composer hands to the pane to send (the pane adds the idempotency key and the pending bubble). */
export type Dispatch = (body: Omit<SendMessageRequest, 'idempotency_key'>, shown?: Partial<Message>) => void;

function Composer({ conversation, replyTo, onClearReply, onDispatch, onNote, preview, pickerOpen, setPickerOpen }: {
  conversation: Conversation; replyTo: Message | null; onClearReply: () => void; onDispatch: Dispatch; onNote: () => void; preview?: boolean;
  pickerOpen: boolean; setPickerOpen: (open: boolean) => void;
}) {
  const { t } = useTranslation();
  const role = useAuth((s) => s.user?.role);
  const userId = useAuth((s) => s.user?.id);
  // an unsent text survives switching conversations and reloading; sending clears it
  const [text, setText] = useDraft(preview ? null : draftKey(userId, conversation.id));
  const [note, setNote] = useState(false);
  const [pickIndex, setPickIndex] = useState(0);
  const ref = useRef<HTMLTextAreaElement>(null);
  const slash = text.startsWith('/') && !text.includes(' ') ? text.slice(1).toLowerCase() : null;
  const qrQ = useQuery({ queryKey: ['quick-replies', ''], queryFn: () => quickReplies.list(), enabled: slash !== null && !preview, staleTime: 60_000 });
  const matches: QuickReply[] = slash === null ? [] : (qrQ.data ?? []).filter((r) => r.shortcut.toLowerCase().includes(slash) || r.title.toLowerCase().includes(slash)).slice(0, 8);
  const windowClosed = !!conversation.window_expires_at && new Date(conversation.window_expires_at).getTime() < Date.now();
  const showPicker = !note && !preview && (pickerOpen || windowClosed) && conversation.channel !== 'instagram' && conversation.channel !== 'messenger';
  // Notes are saved directly; messages go out optimistically through the pane (onDispatch).
  const send = useMutation({
    // not paused while offline: a message fails at once (and offers a retry), it does not vanish into a queue
    networkMode: 'always',
    mutationFn: async (body: string) => {
      if (note) {
        await conversations.note(conversation.id, body);
        return true;
      }
      onDispatch({ type: 'text', text: body, reply_to_id: replyTo?.id }, { reply_to_id: replyTo?.id ?? null });
      return false;
    },
    onSuccess: (wasNote) => {
      setText('');
      onClearReply();
      if (wasNote) onNote();
    },
  });
  const fileRef = useRef<HTMLInputElement>(null);
  const [emojiOpen, setEmojiOpen] = useState(false);
  const [scheduling, setScheduling] = useState(false);
  const [scheduledAt, setScheduledAt] = useState<string | null>(null);
  useEffect(() => {
    if (!scheduledAt) return;
    const id = setTimeout(() => setScheduledAt(null), 6000);
    return () => clearTimeout(id);
  }, [scheduledAt]);
  const recorder = useVoiceRecorder();
  const sendMedia = useMutation({
    networkMode: 'always',
    mutationFn: async ({ file, name }: { file: Blob; name: string }) => {
      const up = await media.upload(file, name, conversation.channel ?? 'whatsapp');
      const type = (['image', 'video', 'audio', 'document', 'sticker'].includes(up.kind) ? up.kind : 'document') as MessageType;
      const caption = text.trim() || undefined;
      onDispatch({ type, media_id: up.id, text: caption, reply_to_id: replyTo?.id },
        { type, text: caption ?? null, media: { id: up.id, url: up.url, mime_type: up.mime_type, filename: up.filename ?? name, size: up.size, voice: name.startsWith('voz.') }, reply_to_id: replyTo?.id ?? null });
    },
    onSuccess: () => {
      setText('');
      onClearReply();
    },
  });
  function insertEmoji(emoji: string) {
    const el = ref.current;
    const start = el?.selectionStart ?? text.length;
    const end = el?.selectionEnd ?? text.length;
    setText(text.slice(0, start) + emoji + text.slice(end));
    setEmojiOpen(false);
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(start + emoji.length, start + emoji.length);
    });
  }
  async function toggleRecording() {
    if (recorder.recording) {
      const blob = await recorder.stop();
      if (blob && blob.size > 0) sendMedia.mutate({ file: blob, name: blob.type.includes('ogg') ? 'voz.ogg' : 'voz.webm' });
    } else {
      await recorder.start();
    }
  }
  useEffect(() => {
    const focus = () => ref.current?.focus();
    window.addEventListener('crm:focus-composer', focus);
    return () => window.removeEventListener('crm:focus-composer', focus);
  }, []);
  function pick(r: QuickReply) {
    setText(r.text);
    setPickIndex(0);
    ref.current?.focus();
  }
  function onKeyDown(e: ReactKeyboardEvent<HTMLTextAreaElement>) {
    if (matches.length) {
      if (e.key === 'ArrowDown') { e.preventDefault(); setPickIndex((i) => (i + 1) % matches.length); return; }
      if (e.key === 'ArrowUp') { e.preventDefault(); setPickIndex((i) => (i - 1 + matches.length) % matches.length); return; }
      if (e.key === 'Enter' || e.key === 'Tab') { e.preventDefault(); pick(matches[pickIndex] ?? matches[0]); return; }
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      if (text.trim() && !preview) send.mutate(text.trim());
    }
  }
  return (
    <div className={clsx('relative border-t border-gray-200 px-3 py-2', note ? 'bg-amber-50' : 'bg-chat-panel')}>
      {matches.length > 0 && (
        <ul className="absolute bottom-full left-3 right-3 mb-1 max-h-64 overflow-y-auto rounded-lg border border-gray-200 bg-white py-1 shadow-lg" role="listbox" aria-label={t('quick_replies.title')}>
          {matches.map((r, i) => (
            <li key={r.id} role="option" aria-selected={i === pickIndex}>
              <button type="button" onMouseDown={(e) => { e.preventDefault(); pick(r); }} className={clsx('w-full px-3 py-1.5 text-left text-sm', i === pickIndex ? 'bg-brand-50' : 'hover:bg-gray-50')}>
                <span className="font-semibold text-brand-700">/{r.shortcut}</span> <span className="text-gray-700">{r.title}</span>
                <p className="truncate text-xs text-gray-500">{r.text}</p>
              </button>
            </li>
          ))}
        </ul>
      )}
      {slash !== null && !preview && qrQ.isSuccess && matches.length === 0 && (
        <div className="absolute bottom-full left-3 right-3 mb-1 rounded-lg border border-gray-200 bg-white px-3 py-2 text-sm text-gray-600 shadow-lg" role="status" data-testid="quick-reply-hint">
          {(qrQ.data ?? []).length > 0 ? t('quick_replies.no_match', { q: slash }) : (
            <>
              {t('quick_replies.none_yet')}{' '}
              {isAdmin(role) ? <Link to="/settings/quick-replies" className="font-medium text-brand-700 hover:underline">{t('quick_replies.create_first')}</Link> : t('quick_replies.ask_admin')}
            </>
          )}
        </div>
      )}
      {replyTo && (
        <div className="mb-2 flex items-center gap-2 rounded-md border-l-4 border-brand-500 bg-white px-2 py-1 text-xs">
          <p className="min-w-0 flex-1 truncate text-gray-600">{messagePreview(replyTo, t)}</p>
          <button type="button" onClick={onClearReply} aria-label={t('chat.cancel_reply')}><X className="h-4 w-4 text-gray-500" aria-hidden /></button>
        </div>
      )}
      {showPicker && (
        <TemplatePicker connectionId={conversation.connection_id} windowClosed={windowClosed}
          onClose={windowClosed ? undefined : () => setPickerOpen(false)}
          onSend={(template, shown) => { onDispatch({ type: 'template', template }, { type: 'template', text: shown, template }); setPickerOpen(false); }} />
      )}
      {send.isError && <FormError error={send.error} />}
      {sendMedia.isError && <FormError error={sendMedia.error} />}
      {recorder.error && <p className="mb-2 text-xs text-red-600" role="alert">{t('inbox.mic_error')}</p>}
      {emojiOpen && (
        <div className="absolute bottom-full left-3 mb-1 grid grid-cols-8 gap-1 rounded-lg border border-gray-200 bg-white p-2 shadow-lg" role="dialog" aria-label={t('inbox.emoji')}>
          {EMOJIS.map((e) => (
            <button key={e} type="button" className="rounded p-1 text-xl hover:bg-gray-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500" onClick={() => insertEmoji(e)}>{e}</button>
          ))}
        </div>
      )}
      {!preview && <ScheduledChip conversationId={conversation.id} />}
      <p role="status" aria-live="polite" className={scheduledAt ? 'mb-2 text-xs text-green-800' : 'sr-only'} data-testid="scheduled-notice">
        {scheduledAt ? t('scheduled.done', { at: formatDateTime(scheduledAt) }) : ''}
      </p>
      {scheduling && (
        <ScheduleDialog conversationId={conversation.id} text={text} onClose={() => setScheduling(false)}
          onDone={(m) => { setScheduling(false); setText(''); setScheduledAt(m.send_at); }} />
      )}
      {windowClosed && !note && <p className="mb-2 text-xs text-amber-800" data-testid="window-closed-hint">{t('inbox.window_closed_hint')}</p>}
      <div className="flex min-w-0 items-end gap-1 sm:gap-2">
        <button type="button" onClick={() => setNote((n) => !n)} aria-pressed={note} title={t('inbox.note_mode')} aria-label={t('inbox.note_mode')}
          className={clsx('mb-1 rounded-full p-2 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500', note ? 'bg-amber-200 text-amber-900' : 'text-gray-500 hover:bg-gray-200')}>
          <StickyNote className="h-5 w-5" aria-hidden />
        </button>
        {!note && (
          <>
            <button type="button" onClick={() => setEmojiOpen((o) => !o)} title={t('inbox.emoji')} aria-label={t('inbox.emoji')} aria-expanded={emojiOpen}
              className="mb-1 hidden shrink-0 rounded-full p-2 text-gray-500 hover:bg-gray-200 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500 sm:inline-flex">
              <Smile className="h-5 w-5" aria-hidden />
            </button>
            <button type="button" onClick={() => setPickerOpen(!pickerOpen)} title={t('templates.open')} aria-label={t('templates.open')} aria-pressed={showPicker} disabled={preview || windowClosed}
              data-testid="open-templates" className="mb-1 rounded-full p-2 text-gray-500 hover:bg-gray-200 disabled:opacity-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500">
              <FileText className="h-5 w-5" aria-hidden />
            </button>
            <button type="button" onClick={() => setScheduling(true)} title={t('scheduled.open')} aria-label={t('scheduled.open')} disabled={preview || windowClosed || !text.trim()}
              data-testid="open-schedule" className="mb-1 hidden shrink-0 rounded-full p-2 text-gray-500 hover:bg-gray-200 disabled:opacity-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500 sm:inline-flex">
              <Clock className="h-5 w-5" aria-hidden />
            </button>
            <button type="button" onClick={() => fileRef.current?.click()} title={t('inbox.attach')} aria-label={t('inbox.attach')} disabled={windowClosed || preview || sendMedia.isPending}
              className="mb-1 rounded-full p-2 text-gray-500 hover:bg-gray-200 disabled:opacity-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500">
              <Paperclip className="h-5 w-5" aria-hidden />
            </button>
            <input ref={fileRef} type="file" className="hidden" accept="image/*,video/*,audio/*,application/pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.txt,.csv"
              onChange={(e) => { const f = e.target.files?.[0]; if (f) sendMedia.mutate({ file: f, name: f.name }); e.target.value = ''; }} />
          </>
        )}
        <textarea ref={ref} id="composer" rows={1} value={text} onChange={(e) => { setText(e.target.value); setPickIndex(0); }} onKeyDown={onKeyDown}
          placeholder={note ? t('inbox.note_placeholder') : t('inbox.composer_placeholder')} aria-label={note ? t('inbox.note_placeholder') : t('inbox.composer_placeholder')}
          className="max-h-40 min-h-[42px] min-w-0 flex-1 resize-none rounded-lg border-0 bg-white px-3 py-2.5 text-sm shadow-sm placeholder:truncate focus:outline-none focus:ring-2 focus:ring-brand-500/40" disabled={windowClosed && !note} />
        {!note && !text.trim() && recorder.supported ? (
          <button type="button" onClick={toggleRecording} disabled={preview || windowClosed || sendMedia.isPending}
            className={clsx('mb-0.5 rounded-full p-2.5 text-white disabled:opacity-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-700', recorder.recording ? 'animate-pulse bg-red-500 hover:bg-red-600' : 'bg-brand-500 hover:bg-brand-600')}
            aria-label={recorder.recording ? t('inbox.stop_recording') : t('inbox.record')} title={recorder.recording ? t('inbox.stop_recording') : t('inbox.record')} aria-pressed={recorder.recording}>
            {recorder.recording ? <Square className="h-5 w-5" aria-hidden /> : <Mic className="h-5 w-5" aria-hidden />}
          </button>
        ) : (
          <button type="button" onClick={() => text.trim() && !preview && send.mutate(text.trim())} disabled={!text.trim() || send.isPending}
            className="mb-0.5 rounded-full bg-brand-500 p-2.5 text-white hover:bg-brand-600 disabled:opacity-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-700" aria-label={note ? t('inbox.save_note') : t('inbox.send')}>
            <Send className="h-5 w-5" aria-hidden />
          </button>
        )}
      </div>
    </div>
  );
}

interface LocalSend { message: Message; body: SendMessageRequest }

/**
 * Adds the optimistic bubbles still waiting for the server after the loaded
 * messages; one whose idempotency key the server already returned is dropped.
 */
export function withLocals(messages: Message[], locals: LocalSend[]): Message[] {
  if (!locals.length) return messages;
  const keys = new Set(messages.map((m) => m.idempotency_key).filter(Boolean));
  const maxSeq = messages.reduce((n, m) => Math.max(n, m.seq), 0);
  const waiting = locals.filter((l) => !keys.has(l.message.idempotency_key)).map((l, i) => ({ ...l.message, seq: maxSeq + 0.6 + i / 1000 }));
  return [...messages, ...waiting];
}

function ConversationPane({ id, preview }: { id: string; preview?: boolean }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const user = useAuth((s) => s.user);
  const navigate = useNavigate();
  const fixtureNow = useMemo(() => new Date(), []);
  const convQ = useQuery({ queryKey: ['conversation', id], queryFn: () => conversations.get(id), enabled: !preview, retry: false });
  // The newest page first (?before=latest), then back through history by seq.
  const msgsQ = useInfiniteQuery({
    queryKey: ['messages', id],
    queryFn: ({ pageParam }) => conversations.messages(id, { before: pageParam, limit: PAGE }),
    initialPageParam: 'latest',
    getNextPageParam: (last) => {
      const items = last.items ?? [];
      if (items.length < PAGE) return undefined;
      return String(Math.min(...items.map((m) => m.seq)));
    },
    enabled: !preview,
    retry: false,
  });
  const notesQ = useQuery({ queryKey: ['notes', id], queryFn: () => conversations.notes(id), enabled: !preview, retry: false });
  const userNames = useUserNames();
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [showContact, setShowContact] = useState(false);
  const [dialog, setDialog] = useState<'transfer' | 'labels' | 'flow' | null>(null);
  const chatbot = useChatbotEnabled(!preview);
  const [sent, setSent] = useState<Message[]>([]);
  // Optimistic sends: a pending bubble per idempotency key until the server's message (202 or live frame) replaces it.
  const [locals, setLocals] = useState<LocalSend[]>([]);
  const [pickerOpen, setPickerOpen] = useState(false);
  const errorText = useErrorText();
  const conversation = preview ? fixtureConversation(fixtureNow) : convQ.data;
  const messages = useMemo(() => {
    if (preview) return fixtureMessages(fixtureNow);
    const all = msgsQ.data?.pages.flatMap((p) => p.items ?? []) ?? [];
    const byId = new Map(all.map((m) => [m.id, m]));
    const merged = [...byId.values(), ...sent.filter((m) => !byId.has(m.id))];
    return mergeNotes(withLocals(merged, locals), notesQ.data?.items ?? []);
  }, [preview, fixtureNow, msgsQ.data, notesQ.data, sent, locals]);
  const dispatch = useCallback((body: SendMessageRequest, shown: Partial<Message> = {}) => {
    const key = body.idempotency_key;
    const local: Message = {
      id: `local-${key}`, conversation_id: id, seq: 0, direction: 'outbound', type: body.type as MessageType, text: body.text ?? null,
      status: 'pending', created_at: new Date().toISOString(), idempotency_key: key, local: true, sent_by: user?.id ?? null, ...shown,
    };
    setLocals((ls) => [...ls.filter((l) => l.message.idempotency_key !== key), { message: local, body }]);
    conversations.send(id, body).then(
      (m) => {
        if (m?.id) setSent((s) => [...s.filter((x) => x.id !== m.id), m]);
        setLocals((ls) => ls.filter((l) => l.message.idempotency_key !== key));
      },
      (err: unknown) => {
        const closed = err instanceof ApiError && err.code === 'window_closed';
        setLocals((ls) => ls.map((l) => (l.message.idempotency_key === key
          ? { ...l, message: { ...l.message, status: 'failed', error: closed ? { code: 'window_closed', message: t('templates.window_closed_error') } : errorText(err) } }
          : l)));
        if (closed) {
          setPickerOpen(true);
          void qc.invalidateQueries({ queryKey: ['conversation', id] });
        }
      },
    );
  }, [id, user?.id, qc, t, errorText]);
  const onDispatch = useCallback<Dispatch>((body, shown) => dispatch({ ...body, idempotency_key: newIdempotencyKey() }, shown), [dispatch]);
  const retry = useCallback((m: Message) => {
    const l = locals.find((x) => x.message.id === m.id);
    // the same idempotency key: if the first attempt did reach the server, it is not sent twice
    if (l) dispatch(l.body, { ...l.message, status: 'pending', error: null });
  }, [locals, dispatch]);
  useEffect(() => {
    if (preview) return;
    const tell = () => sendRealtime({ type: 'viewing', data: { conversation_id: id } });
    tell();
    const timer = setInterval(tell, 20_000);
    return () => clearInterval(timer);
  }, [preview, id]);
  useEffect(() => {
    if (preview || !convQ.data || !convQ.data.unread_count) return;
    conversations.read(id).then(() => qc.invalidateQueries({ queryKey: ['conversations'] })).catch(() => undefined);
  }, [preview, id, convQ.data, qc]);
  const update = useMutation({
    mutationFn: (body: Parameters<typeof conversations.update>[1]) => conversations.update(id, body),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['conversation', id] });
      void qc.invalidateQueries({ queryKey: ['conversations'] });
    },
  });
  const scroller = useRef<HTMLDivElement>(null);
  // Follow the newest message while the agent is at the bottom (not when older pages are prepended),
  // and again once its image has loaded; one's own message just sent is always followed.
  const newest = useMemo(() => [...messages].sort((a, b) => b.seq - a.seq)[0], [messages]);
  useStickToBottom(scroller, newest?.id, id, !!newest?.local);
  // Opened from a message search hit (?m=id&seq=n): page back until the message is loaded, then bring it into view, marked.
  const [params] = useSearchParams();
  const targetId = params.get('m');
  const targetSeq = Number(params.get('seq') ?? 0);
  const shownTarget = useRef<string | null>(null);
  useEffect(() => {
    if (preview || !targetId || shownTarget.current === targetId || !msgsQ.data) return;
    if (!messages.some((m) => m.id === targetId)) {
      const oldest = Math.min(...messages.filter((m) => m.seq > 0).map((m) => m.seq));
      if (oldest > targetSeq && msgsQ.hasNextPage && !msgsQ.isFetchingNextPage) void msgsQ.fetchNextPage();
      return;
    }
    const el = scroller.current?.querySelector<HTMLElement>(`[data-message-id="${targetId}"]`);
    if (!el) return;
    shownTarget.current = targetId;
    el.scrollIntoView?.({ block: 'center' });
    el.setAttribute('data-search-hit', 'true');
    el.classList.add('ring-2', 'ring-amber-400', 'rounded-lg');
    setTimeout(() => el.classList.remove('ring-2', 'ring-amber-400'), 3000);
  }, [preview, targetId, targetSeq, messages, msgsQ]);
  useEffect(() => {
    const resolve = () => conversation && conversation.status !== 'resolved' && !preview && update.mutate({ status: 'resolved' });
    window.addEventListener('crm:resolve', resolve);
    return () => window.removeEventListener('crm:resolve', resolve);
  }, [conversation, preview, update]);

  if (!preview && (convQ.isPending)) return <div className="flex-1 bg-white"><SkeletonRows rows={6} /></div>;
  if (!preview && convQ.isError) {
    return (
      <div className="flex flex-1 flex-col items-center justify-center bg-chat-panel">
        {notBuiltYet(convQ.error) ? <EmptyState title={t('inbox.not_available')} description={t('inbox.empty_hint')} /> : <ErrorState error={convQ.error} onRetry={() => convQ.refetch()} />}
        <Link to="/inbox" className="text-sm text-brand-600 hover:underline">{t('common.back')}</Link>
      </div>
    );
  }
  const c = conversation!;
  const resolved = c.status === 'resolved' || c.status === 'archived';
  return (
    <div className="relative flex min-w-0 flex-1">
    <div className="flex min-w-0 flex-1 flex-col" data-testid="conversation-pane">
      <header className="flex flex-wrap items-center gap-x-2 gap-y-1 border-b border-gray-200 bg-chat-panel px-2 py-2 sm:gap-x-3 sm:px-3">
        <button className="rounded-full p-1 text-gray-600 hover:bg-gray-200 md:hidden" onClick={() => navigate('/inbox')} aria-label={t('common.back')}><ArrowLeft className="h-5 w-5" aria-hidden /></button>
        <button type="button" onClick={() => setShowContact((v) => !v)} className="flex min-w-[10rem] flex-1 basis-40 items-center gap-3 rounded-lg text-left focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500" aria-expanded={showContact} title={t('contact_panel.open')} data-testid="open-contact">
        <Avatar name={c.contact?.name || c.contact?.phone} />
        <div className="min-w-0 flex-1">
          <p className="flex items-center gap-1.5 font-medium text-gray-900"><ChannelIcon channel={c.channel} className="shrink-0" /> <span className="truncate">{c.contact?.name || formatPhone(c.contact?.phone)}</span></p>
          <p className="flex items-center gap-x-2 overflow-hidden whitespace-nowrap text-xs text-gray-500">
            <span>{formatPhone(c.contact?.phone)}</span>
            <span>· {t(`inbox.status.${c.status}`)}</span>
            {c.assignee_name && <span>· {t('inbox.assigned_to', { name: c.assignee_name })}</span>}
            <WindowCountdown expiresAt={c.window_expires_at} />
            <SlaBadge dueAt={c.sla_due_at} />
          </p>
          <AlsoViewing conversationId={c.id} />
        </div>
        </button>
        <div className="ml-auto flex flex-wrap items-center justify-end gap-1">
        <BotActiveBadge conversation={c} preview={preview} />
        <div className="flex shrink-0 items-center gap-1" data-testid="conversation-actions">
          {c.assignee_id !== user?.id && (
            <Button variant="ghost" size="sm" onClick={() => !preview && update.mutate({ assignee_id: user?.id ?? null })} title={t('inbox.assign_me')}>
              <UserPlus className="h-4 w-4" aria-hidden /> <span className="hidden 2xl:inline">{t('inbox.assign_me')}</span>
            </Button>
          )}
          <Button variant="ghost" size="sm" onClick={() => !preview && setDialog('labels')} title={t('actions.labels')}>
            <Tag className="h-4 w-4" aria-hidden /> <span className="hidden 2xl:inline">{t('actions.labels')}</span>
          </Button>
          <Button variant="ghost" size="sm" onClick={() => !preview && setDialog('transfer')} title={t('actions.transfer')}>
            <ArrowRightLeft className="h-4 w-4" aria-hidden /> <span className="hidden 2xl:inline">{t('actions.transfer')}</span>
          </Button>
          {chatbot && !c.bot_active && (
            <Button variant="ghost" size="sm" onClick={() => !preview && setDialog('flow')} title={t('conversation_bot.hand_to_flow')} data-testid="hand-to-flow-open">
              <Bot className="h-4 w-4" aria-hidden /> <span className="hidden 2xl:inline">{t('conversation_bot.hand_to_flow')}</span>
            </Button>
          )}
          {resolved ? (
            <Button variant="ghost" size="sm" onClick={() => !preview && update.mutate({ status: 'open' })} title={t('inbox.reopen')}>
              <RotateCcw className="h-4 w-4" aria-hidden /> <span className="hidden 2xl:inline">{t('inbox.reopen')}</span>
            </Button>
          ) : (
            <Button variant="ghost" size="sm" onClick={() => !preview && update.mutate({ status: 'resolved' })} title={t('inbox.resolve')}>
              <CheckCircle2 className="h-4 w-4 text-brand-600" aria-hidden /> <span className="hidden 2xl:inline">{t('inbox.resolve')}</span>
            </Button>
          )}
        </div>
        </div>
      </header>
      {update.isError && <div className="px-3 pt-2"><FormError error={update.error} /></div>}
      <div ref={scroller} className="chat-wallpaper min-h-0 flex-1 overflow-y-auto py-2 scroll-thin" aria-live="polite">
        {preview && <p className="mx-auto mb-2 w-fit rounded-md bg-amber-100 px-3 py-1 text-xs text-amber-900">{t('inbox.preview_notice')}</p>}
        {msgsQ.hasNextPage && (
          <div className="flex justify-center py-2"><Button variant="outline" size="sm" loading={msgsQ.isFetchingNextPage} onClick={() => msgsQ.fetchNextPage()}>{t('inbox.older')}</Button></div>
        )}
        {!preview && msgsQ.isPending ? (
          <SkeletonRows rows={4} />
        ) : !preview && msgsQ.isError && !notBuiltYet(msgsQ.error) ? (
          <ErrorState error={msgsQ.error} onRetry={() => msgsQ.refetch()} />
        ) : messages.length === 0 ? (
          <EmptyState title={t('inbox.no_messages')} />
        ) : (
          <MessageList messages={messages} onReply={setReplyTo} onRetry={retry} now={fixtureNow} authorOf={(m) => (m.sent_by ? userNames.get(m.sent_by) : null)} />
        )}
      </div>
      <Composer conversation={c} replyTo={replyTo} onClearReply={() => setReplyTo(null)} preview={preview}
        onDispatch={onDispatch} pickerOpen={pickerOpen} setPickerOpen={setPickerOpen}
        onNote={() => qc.invalidateQueries({ queryKey: ['notes', id] })} />
    </div>
    {dialog === 'transfer' && <TransferDialog conversation={c} onClose={() => setDialog(null)} />}
    {dialog === 'labels' && <LabelsDialog conversation={c} onClose={() => setDialog(null)} />}
    {dialog === 'flow' && <HandToFlowDialog conversation={c} onClose={() => setDialog(null)} />}
    {showContact && <ContactPanel conversation={c} preview={preview} onClose={() => setShowContact(false)} />}
    </div>
  );
}

function Shortcuts({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const { t } = useTranslation();
  const rows: [string, string][] = [
    ['Alt + ↓', t('inbox.shortcuts.next')], ['Alt + ↑', t('inbox.shortcuts.previous')], ['Alt + R', t('inbox.shortcuts.resolve')],
    ['Alt + C', t('inbox.shortcuts.composer')], ['/', t('inbox.shortcuts.search')], ['Esc', t('inbox.shortcuts.close')], ['?', t('inbox.shortcuts.help')],
  ];
  return (
    <Modal open={open} onOpenChange={onOpenChange} title={t('inbox.shortcuts.title')}>
      <dl className="space-y-2 text-sm">
        {rows.map(([k, v]) => (
          <div key={k} className="flex justify-between gap-4"><dt><kbd className="rounded border border-gray-300 bg-gray-50 px-1.5 py-0.5 font-mono text-xs">{k}</kbd></dt><dd className="text-gray-700">{v}</dd></div>
        ))}
      </dl>
    </Modal>
  );
}

export default function InboxPage() {
  const { t } = useTranslation();
  const { conversationId } = useParams();
  const navigate = useNavigate();
  const preview = conversationId === 'preview';
  const order = useRef<string[]>([]);
  const onOrder = useCallback((ids: string[]) => { order.current = ids; }, []);
  const [help, setHelp] = useState(false);

  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      const target = e.target as HTMLElement | null;
      const typing = !!target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT' || target.isContentEditable);
      if (e.altKey && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
        e.preventDefault();
        const ids = order.current;
        if (!ids.length) return;
        const i = conversationId ? ids.indexOf(conversationId) : -1;
        const next = e.key === 'ArrowDown' ? ids[Math.min(ids.length - 1, i + 1)] : ids[Math.max(0, i - 1)];
        if (next) navigate(`/inbox/${next}`);
      } else if (e.altKey && e.key.toLowerCase() === 'r') {
        e.preventDefault();
        window.dispatchEvent(new Event('crm:resolve'));
      } else if (e.altKey && e.key.toLowerCase() === 'c') {
        e.preventDefault();
        window.dispatchEvent(new Event('crm:focus-composer'));
      } else if (!typing && e.key === '?') {
        setHelp(true);
      } else if (!typing && e.key === '/') {
        e.preventDefault();
        document.getElementById('inbox-search')?.focus();
      } else if (e.key === 'Escape' && conversationId && !typing) {
        navigate('/inbox');
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [conversationId, navigate]);

  return (
    <div className="flex h-full">
      <div className={clsx('w-full shrink-0 border-r border-gray-200 md:w-[360px] lg:w-[400px]', conversationId ? 'hidden md:block' : 'block')}>
        <ConversationList activeId={conversationId} onOrder={onOrder} />
      </div>
      <div className={clsx('min-w-0 flex-1', conversationId ? 'flex' : 'hidden md:flex')}>
        {conversationId ? (
          <ConversationPane key={conversationId} id={conversationId} preview={preview} />
        ) : (
          <div className="flex flex-1 flex-col items-center justify-center gap-3 border-b-[6px] border-brand-500 bg-chat-panel px-6 text-center" data-testid="inbox-placeholder">
            <span className="rounded-full bg-white p-6 text-brand-500 shadow-sm"><MessageCircle className="h-12 w-12" aria-hidden /></span>
            <h2 className="text-2xl font-light text-gray-700">{t('inbox.placeholder_title')}</h2>
            <p className="max-w-md text-sm text-gray-500">{t('inbox.placeholder_text')}</p>
            <button onClick={() => setHelp(true)} className="mt-2 inline-flex items-center gap-1.5 text-xs text-gray-500 hover:text-gray-700"><Keyboard className="h-4 w-4" aria-hidden /> {t('inbox.shortcuts.hint')}</button>
          </div>
        )}
      </div>
      <Shortcuts open={help} onOpenChange={setHelp} />
    </div>
  );
}
