import { useMemo } from 'react';
import type { Message, Note, Reaction } from '../../api/types';
import { dayKey, dayLabel } from '../../lib/format';
import { MessageBubble, isNote } from './MessageBubble';

/**
 * Places internal notes in the message timeline: a note gets the seq of the
 * last message written before it plus a half, so it sorts right after it.
 */
export function mergeNotes(messages: Message[], notes: Note[]): Message[] {
  if (!notes.length) return messages;
  const byTime = [...messages].sort((a, b) => a.created_at.localeCompare(b.created_at));
  const asMessages = notes.map((n): Message => {
    let seq = 0;
    for (const m of byTime) {
      if (m.created_at <= n.created_at) seq = Math.max(seq, m.seq);
      else break;
    }
    return { id: `note-${n.id}`, conversation_id: n.conversation_id, seq: seq + 0.5, direction: 'outbound', type: 'note', text: n.text,
      status: 'sent', sent_by: n.author_id, created_at: n.created_at, is_note: true };
  });
  return [...messages, ...asMessages];
}

export interface Row {
  kind: 'day' | 'message';
  key: string;
  label?: string;
  message?: Message;
  tail?: boolean;
}

/**
 * Orders messages by seq, folds reaction messages onto the message they react
 * to, and inserts a day separator whenever the local day changes.
 */
export function buildRows(messages: Message[], now = new Date()): { rows: Row[]; reactions: Map<string, Reaction[]>; byId: Map<string, Message> } {
  const sorted = [...messages].sort((a, b) => a.seq - b.seq || a.created_at.localeCompare(b.created_at));
  const byId = new Map<string, Message>();
  const byExternal = new Map<string, Message>();
  for (const m of sorted) {
    byId.set(m.id, m);
    if (m.external_id) byExternal.set(m.external_id, m);
  }
  const reactions = new Map<string, Reaction[]>();
  const rows: Row[] = [];
  let lastDay = '';
  let lastSide = '';
  for (const m of sorted) {
    for (const r of m.reactions ?? []) {
      const list = reactions.get(m.id) ?? [];
      list.push(r);
      reactions.set(m.id, list);
    }
    if (m.type === 'reaction') {
      const r = m.reaction;
      const target = (r?.target_id && byId.get(r.target_id)) || (m.reply_to_id && byId.get(m.reply_to_id)) || (r?.target_external_id && byExternal.get(r.target_external_id));
      if (target && r) {
        // a later reaction from the same side replaces the earlier one (WhatsApp keeps one per person)
        const list = (reactions.get(target.id) ?? []).filter((x) => x.from !== m.direction);
        if (r.emoji && !r.removed) list.push({ ...r, from: m.direction });
        reactions.set(target.id, list);
        continue;
      }
    }
    const day = dayKey(m.created_at);
    if (day !== lastDay) {
      rows.push({ kind: 'day', key: `day-${day}`, label: dayLabel(m.created_at, now) });
      lastDay = day;
      lastSide = '';
    }
    const side = isNote(m) ? 'note' : m.direction;
    rows.push({ kind: 'message', key: m.id, message: m, tail: side !== lastSide });
    lastSide = side;
  }
  return { rows, reactions, byId };
}

export function DaySeparator({ label }: { label: string }) {
  return (
    <div className="sticky top-1 z-[1] my-2 flex justify-center" role="separator" data-testid="day-separator">
      <span className="rounded-lg bg-white/95 px-3 py-1 text-xs font-medium uppercase text-gray-600 shadow-sm">{label}</span>
    </div>
  );
}

export function MessageList({ messages, authorOf, onReply, onRetry, now }: { messages: Message[]; authorOf?: (m: Message) => string | null | undefined; onReply?: (m: Message) => void; onRetry?: (m: Message) => void; now?: Date }) {
  const { rows, reactions, byId } = useMemo(() => buildRows(messages, now), [messages, now]);
  return (
    <div className="pb-2" data-testid="message-list">
      {rows.map((row) =>
        row.kind === 'day' ? (
          <DaySeparator key={row.key} label={row.label!} />
        ) : (
          <MessageBubble
            key={row.key}
            message={row.message!}
            tail={row.tail}
            replyTo={row.message!.reply_to_id ? byId.get(row.message!.reply_to_id) ?? null : null}
            reactions={reactions.get(row.message!.id)}
            author={authorOf?.(row.message!) ?? row.message!.sent_by_name}
            onReply={onReply}
            onRetry={onRetry}
          />
        ),
      )}
    </div>
  );
}
