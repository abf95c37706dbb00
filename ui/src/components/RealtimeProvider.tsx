import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { useNavigate } from 'react-router';
import i18n from '../i18n';
import { notifyInbound } from '../lib/notify';
import { usePresence } from '../store/presence';
import { applyAvailabilityFrame } from '../store/availability';
import { messagePreview } from './chat/MessageBubble';
import { api } from '../api';
import type { Conversation } from '../api/types';
import { socketUrl } from '../api/socketUrl';
import { RealtimeClient, type Frame } from '../api/ws';
import { applyDirectoryFrame, applyMessageFrame, upsertConversation } from '../lib/liveCache';
import { applyCampaignFrame } from '../lib/campaigns';
import { applyKanbanFrame } from '../lib/kanban';
import { applyAgendaFrame, formatTime, zoned } from '../lib/agenda';
import { notifyReminder } from '../lib/notify';
import { useAuth } from '../store/auth';
import { useConnectionLive, useRealtime, type ConnectionLive } from '../store/realtime';

let current: RealtimeClient | null = null;

/** Sends a frame on the live socket when it is open ({"type":"viewing"}, {"type":"typing"}). */
export function sendRealtime(frame: Record<string, unknown>): boolean {
  return current?.send(frame) ?? false;
}

/** Keeps one realtime socket open for a signed-in tenant user and turns its frames into cache updates. */
export function RealtimeProvider() {
  const userId = useAuth((s) => s.user?.id);
  const tenantId = useAuth((s) => s.user?.tenant_id);
  const qc = useQueryClient();
  const navigate = useNavigate();
  // navigate changes with every route; the socket must not
  const navigateRef = useRef(navigate);
  navigateRef.current = navigate;
  useEffect(() => {
    if (!userId || !tenantId) return;
    let listTimer: ReturnType<typeof setTimeout> | null = null;
    const refreshLists = () => {
      if (listTimer) return;
      listTimer = setTimeout(() => {
        listTimer = null;
        void qc.invalidateQueries({ queryKey: ['conversations'] });
        void qc.invalidateQueries({ queryKey: ['queues'] });
      }, 400);
    };
    const client = new RealtimeClient({
      url: ({ closeCode }) => socketUrl(api, { closeCode, accessToken: useAuth.getState().accessToken, location }),
      onStatus: useRealtime.getState().setStatus,
      onFrame: (frame: Frame) => {
        useRealtime.getState().setLastSeq(client.lastSeq);
        const data = frame.data as Record<string, unknown> | undefined;
        switch (frame.type) {
          case 'message.created':
          case 'message.updated': {
            const m = applyMessageFrame(qc, data);
            // a scheduled message went out: its conversation's list shows it sent
            if (frame.type === 'message.created' && m?.via === 'schedule') void qc.invalidateQueries({ queryKey: ['scheduled', m.conversation_id] });
            if (frame.type === 'message.created' && m?.direction === 'inbound' && !location.pathname.endsWith(`/inbox/${m.conversation_id}`)) {
              const conv = qc.getQueryData<Conversation>(['conversation', m.conversation_id]);
              notifyInbound({
                title: conv?.contact?.name || conv?.contact?.phone || i18n.t('notify.new_message'),
                body: m.text || messagePreview(m, i18n.t.bind(i18n) as never),
                conversationId: m.conversation_id,
                open: (id) => navigateRef.current(`/inbox/${id}`),
              });
            }
            refreshLists();
            break;
          }
          case 'presence': {
            const p = data as { user_id?: string; online?: boolean; viewing?: string[] | null } | undefined;
            if (p?.user_id) usePresence.getState().set(p.user_id, { online: !!p.online, viewing: p.viewing ?? [] });
            break;
          }
          case 'user.availability':
            applyAvailabilityFrame(data);
            break;
          case 'note.created':
            if (data?.conversation_id) void qc.invalidateQueries({ queryKey: ['notes', data.conversation_id] });
            break;
          case 'conversation.created':
          case 'conversation.updated':
            if (data?.id) upsertConversation(qc, data as unknown as Conversation);
            refreshLists();
            break;
          case 'campaign.updated':
            applyCampaignFrame(qc, data);
            break;
          case 'campaign.deleted':
            void qc.invalidateQueries({ queryKey: ['campaigns'] });
            break;
          case 'connection.updated':
            if (data?.id) useConnectionLive.getState().set(String(data.id), data as ConnectionLive);
            void qc.invalidateQueries({ queryKey: ['connections'] });
            break;
          default:
            if (applyDirectoryFrame(qc, frame.type, data)) break;
            if (applyKanbanFrame(qc, frame.type, data)) break;
            if (applyAgendaFrame(qc, frame.type, data, (r) => notifyReminder({
              title: i18n.t('agenda.reminder_toast', { title: r.appointment.title, time: formatTime(r.appointment.starts_at) }),
              body: r.appointment.contact_name ?? '',
              tag: `reminder-${r.id}`,
              open: () => navigateRef.current(`/agenda?view=day&date=${zoned(r.appointment.starts_at).day}`),
            }))) break;
            if (frame.type.startsWith('conversation') || frame.type.startsWith('message')) refreshLists();
        }
      },
      onResyncRequired: () => {
        void qc.invalidateQueries({ queryKey: ['conversations'] });
        void qc.invalidateQueries({ queryKey: ['conversation'] });
        void qc.invalidateQueries({ queryKey: ['messages'] });
        void qc.invalidateQueries({ queryKey: ['notes'] });
      },
      maxDelay: 30_000,
    });
    current = client;
    client.start();
    return () => {
      if (listTimer) clearTimeout(listTimer);
      usePresence.getState().clear();
      client.stop();
      if (current === client) current = null;
    };
  }, [userId, tenantId, qc]);
  return null;
}
