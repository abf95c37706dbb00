import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { api } from '../api';
import { RealtimeClient, type Frame } from '../api/ws';
import { useAuth } from '../store/auth';
import { useRealtime } from '../store/realtime';

/** Keeps one realtime socket open for a signed-in tenant user and turns its frames into cache updates. */
export function RealtimeProvider() {
  const user = useAuth((s) => s.user);
  const qc = useQueryClient();
  useEffect(() => {
    if (!user || !user.tenant_id) return;
    const setStatus = useRealtime.getState().setStatus;
    const client = new RealtimeClient({
      url: async () => {
        if (!useAuth.getState().accessToken) await api.refresh();
        const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
        return `${proto}//${location.host}/api/v1/ws?token=${encodeURIComponent(useAuth.getState().accessToken ?? '')}`;
      },
      onStatus: setStatus,
      onFrame: (frame: Frame) => {
        useRealtime.getState().setLastSeq(client.lastSeq);
        if (frame.type.startsWith('message') || frame.type.startsWith('conversation')) {
          void qc.invalidateQueries({ queryKey: ['conversations'] });
          const cid = (frame.data as { conversation_id?: string; id?: string } | undefined)?.conversation_id;
          if (cid) void qc.invalidateQueries({ queryKey: ['messages', cid] });
        }
      },
      onResyncRequired: () => {
        void qc.invalidateQueries({ queryKey: ['conversations'] });
        void qc.invalidateQueries({ queryKey: ['messages'] });
      },
      maxDelay: 30_000,
    });
    client.start();
    return () => client.stop();
  }, [user, qc]);
  return null;
}
