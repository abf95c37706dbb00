import type { InfiniteData, QueryClient } from '@tanstack/react-query';
import type { Conversation, DeliveryStatus, Message, Page } from '../api/types';

const rank: Record<string, number> = { pending: 0, sent: 1, delivered: 2, read: 3, played: 4 };

/** Statuses only move forward (pending < sent < delivered < read); failed replaces pending or sent. */
export function newerStatus(current: DeliveryStatus, incoming: DeliveryStatus): DeliveryStatus {
  if (incoming === current) return current;
  if (incoming === 'failed') return (rank[current] ?? 0) <= 1 ? 'failed' : current;
  if (current === 'failed') return (rank[incoming] ?? 0) >= 2 ? incoming : current;
  if (rank[incoming] === undefined || rank[current] === undefined) return incoming;
  return rank[incoming] > rank[current] ? incoming : current;
}

/** Puts a live message into the cached pages of its conversation (or updates it in place). */
export function upsertMessage(qc: QueryClient, m: Message) {
  qc.setQueryData<InfiniteData<Page<Message>>>(['messages', m.conversation_id], (old) => {
    if (!old) return old;
    let found = false;
    const pages = old.pages.map((p) => ({
      ...p,
      items: (p.items ?? []).map((x) => {
        if (x.id !== m.id) return x;
        found = true;
        return { ...x, ...m, status: newerStatus(x.status, m.status) };
      }),
    }));
    if (!found && pages.length) pages[0] = { ...pages[0], items: [...pages[0].items, m] };
    return { ...old, pages };
  });
}

/** Replaces a conversation wherever it is cached. */
export function upsertConversation(qc: QueryClient, c: Conversation) {
  // only a loaded conversation is updated: a partial frame must not become the whole of it
  qc.setQueryData(['conversation', c.id], (old: Conversation | undefined) => (old ? { ...old, ...c } : old));
}

/**
 * Applies a message.created or message.updated frame: the message goes into its conversation's pages and, when the
 * frame carries the conversation's new state (message.created does, under "conversation"), that replaces the cached
 * conversation. Answers the message without the conversation, or undefined for a frame without one.
 */
export function applyMessageFrame(qc: QueryClient, data: Record<string, unknown> | undefined): Message | undefined {
  if (!data) return undefined;
  const { conversation, ...rest } = data as { conversation?: Conversation } & Record<string, unknown>;
  const m = rest as unknown as Message;
  if (m.conversation_id) upsertMessage(qc, m);
  if (conversation?.id) upsertConversation(qc, conversation);
  return m.conversation_id ? m : undefined;
}

type ConversationContact = NonNullable<Conversation['contact']>;

/** Gives every cached conversation of the contact (the lists' pages, a contact's other conversations, the open one) the contact's new name and phone. */
function renameContact(qc: QueryClient, contact: Partial<ConversationContact> & { id: string }) {
  const patch = (c: Conversation): Conversation => {
    if (c.contact_id !== contact.id) return c;
    const next: ConversationContact = { ...(c.contact ?? { id: contact.id, name: '', phone: null }) };
    if (contact.name !== undefined) next.name = contact.name;
    if (contact.phone !== undefined) next.phone = contact.phone;
    if (contact.avatar_url !== undefined) next.avatar_url = contact.avatar_url;
    return { ...c, contact: next };
  };
  const patchPage = (p: Page<Conversation>): Page<Conversation> => ({ ...p, items: (p.items ?? []).map(patch) });
  qc.setQueriesData<InfiniteData<Page<Conversation>> | Page<Conversation>>({ queryKey: ['conversations'] }, (old) => {
    if (!old) return old;
    if ('pages' in old) return { ...old, pages: old.pages.map(patchPage) };
    return 'items' in old ? patchPage(old) : old;
  });
  qc.setQueriesData<Conversation>({ queryKey: ['conversation'] }, (old) => (old?.id ? patch(old) : old));
}

/**
 * Applies a change another console made to a contact, label or quick reply (contact.created|updated|deleted,
 * label.*, quick_reply.*): a renamed contact is renamed in every list and header at once, and what lists these
 * is fetched again. Answers false for a frame of another kind.
 */
export function applyDirectoryFrame(qc: QueryClient, type: string, data: Record<string, unknown> | undefined): boolean {
  const [entity, action] = type.split('.');
  const id = typeof data?.id === 'string' ? data.id : undefined;
  switch (entity) {
    case 'contact':
      if (action === 'updated' && id) {
        renameContact(qc, data as Partial<ConversationContact> & { id: string });
        qc.setQueryData(['contact', id], (old: object | undefined) => (old ? { ...old, ...data } : old));
      }
      void qc.invalidateQueries({ queryKey: ['contacts'] });
      return true;
    case 'label':
      void qc.invalidateQueries({ queryKey: ['labels'] });
      if (action === 'deleted') {
        // the label left every conversation and contact that had it
        void qc.invalidateQueries({ queryKey: ['conversations'] });
        void qc.invalidateQueries({ queryKey: ['conversation'] });
        void qc.invalidateQueries({ queryKey: ['contacts'] });
        void qc.invalidateQueries({ queryKey: ['contact'] });
      }
      return true;
    case 'quick_reply':
      void qc.invalidateQueries({ queryKey: ['quick-replies'] });
      return true;
    case 'webhook_subscription': // disabled after a day of failed deliveries: the badge shows at once
      void qc.invalidateQueries({ queryKey: ['webhooks'] });
      return true;
  }
  return false;
}
