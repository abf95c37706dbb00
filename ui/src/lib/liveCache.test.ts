import { QueryClient, type InfiniteData } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import type { Message, Page } from '../api/types';
import { applyDirectoryFrame, applyMessageFrame, newerStatus, upsertConversation, upsertMessage } from './liveCache';

const msg = (id: string, seq: number, status: Message['status']): Message => ({
  id, conversation_id: 'c', seq, direction: 'outbound', type: 'text', text: id, status, created_at: new Date(2026, 0, 1, 10, seq).toISOString(),
});

describe('live cache', () => {
  it('moves statuses forward only', () => {
    expect(newerStatus('pending', 'sent')).toBe('sent');
    expect(newerStatus('read', 'delivered')).toBe('read');
    expect(newerStatus('sent', 'failed')).toBe('failed');
    expect(newerStatus('delivered', 'failed')).toBe('delivered');
    expect(newerStatus('failed', 'delivered')).toBe('delivered');
  });

  it('appends new messages to the newest page and updates known ones in place', () => {
    const qc = new QueryClient();
    qc.setQueryData<InfiniteData<Page<Message>>>(['messages', 'c'], {
      pages: [{ items: [msg('a', 10, 'sent'), msg('b', 11, 'pending')], next_cursor: null }, { items: [msg('z', 1, 'read')], next_cursor: null }],
      pageParams: ['latest', '10'],
    });
    upsertMessage(qc, msg('b', 11, 'delivered'));
    upsertMessage(qc, msg('a', 10, 'pending')); // a late, older status does not win
    upsertMessage(qc, msg('c', 12, 'pending'));
    const data = qc.getQueryData<InfiniteData<Page<Message>>>(['messages', 'c'])!;
    expect(data.pages[0].items.map((m) => `${m.id}:${m.status}`)).toEqual(['a:sent', 'b:delivered', 'c:pending']);
    expect(data.pages[1].items).toHaveLength(1);
  });

  it('leaves conversations that are not loaded alone', () => {
    const qc = new QueryClient();
    upsertMessage(qc, msg('x', 1, 'sent'));
    expect(qc.getQueryData(['messages', 'c'])).toBeUndefined();
  });

  it('updates a loaded conversation and ignores one that is not loaded', () => {
    const qc = new QueryClient();
    upsertConversation(qc, { id: 'c1', status: 'resolved' } as never);
    expect(qc.getQueryData(['conversation', 'c1'])).toBeUndefined();
    qc.setQueryData(['conversation', 'c1'], { id: 'c1', status: 'open', contact: { name: 'Maria' } });
    upsertConversation(qc, { id: 'c1', status: 'resolved' } as never);
    expect(qc.getQueryData(['conversation', 'c1'])).toMatchObject({ status: 'resolved', contact: { name: 'Maria' } });
  });

  it('takes the conversation a message.created frame carries, and keeps it out of the message', () => {
    const qc = new QueryClient();
    qc.setQueryData<InfiniteData<Page<Message>>>(['messages', 'c'], { pages: [{ items: [msg('a', 1, 'read')], next_cursor: null }], pageParams: ['latest'] });
    qc.setQueryData(['conversation', 'c'], { id: 'c', status: 'resolved', unread_count: 0, contact: { name: 'Maria' } });
    const m = applyMessageFrame(qc, { ...msg('b', 2, 'sent'), direction: 'inbound', conversation: { id: 'c', status: 'open', unread_count: 1, last_message_preview: 'b' } });
    expect(m).toMatchObject({ id: 'b', direction: 'inbound' });
    expect(m).not.toHaveProperty('conversation');
    const items = qc.getQueryData<InfiniteData<Page<Message>>>(['messages', 'c'])!.pages[0].items;
    expect(items.map((x) => x.id)).toEqual(['a', 'b']);
    expect(items[1]).not.toHaveProperty('conversation');
    expect(qc.getQueryData(['conversation', 'c'])).toMatchObject({ status: 'open', unread_count: 1, last_message_preview: 'b', contact: { name: 'Maria' } });
    expect(applyMessageFrame(qc, undefined)).toBeUndefined();
  });

  it('renames a contact in every cached list shape and in its conversation, and tells which frames it took', () => {
    const qc = new QueryClient();
    const c = (id: string, contact: string) => ({ id, contact_id: contact, contact: { id: contact, name: 'Velho', phone: null } });
    qc.setQueryData(['conversations', 'mine'], { pages: [{ items: [c('a', 'ct'), c('b', 'other')], next_cursor: null }], pageParams: [null] });
    qc.setQueryData(['conversations', 'contact', 'ct'], { items: [c('a', 'ct')], next_cursor: null });
    qc.setQueryData(['conversation', 'a'], c('a', 'ct'));
    expect(applyDirectoryFrame(qc, 'contact.updated', { id: 'ct', name: 'Novo', phone: '+5511987654321' })).toBe(true);
    const list = qc.getQueryData<InfiniteData<Page<{ contact: { name: string } }>>>(['conversations', 'mine'])!;
    expect(list.pages[0].items.map((x) => x.contact.name)).toEqual(['Novo', 'Velho']);
    expect(qc.getQueryData(['conversations', 'contact', 'ct'])).toMatchObject({ items: [{ contact: { name: 'Novo', phone: '+5511987654321' } }] });
    expect(qc.getQueryData(['conversation', 'a'])).toMatchObject({ contact: { name: 'Novo' } });
    expect(applyDirectoryFrame(qc, 'label.deleted', { id: 'l' })).toBe(true);
    expect(applyDirectoryFrame(qc, 'quick_reply.updated', { id: 'q' })).toBe(true);
    expect(applyDirectoryFrame(qc, 'webhook_subscription.disabled', { id: 'w', status: 'disabled' })).toBe(true);
    expect(applyDirectoryFrame(qc, 'conversation.updated', { id: 'a' })).toBe(false);
  });
});
