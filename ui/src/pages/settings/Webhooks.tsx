import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { History, Pencil, Plus, Power, RotateCcw, Trash2, Webhook } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { webhooks } from '../../api/endpoints';
import type { WebhookDelivery, WebhookSubscription } from '../../api/types';
import { useConfirm } from '../../components/ConfirmDialog';
import { FormError } from '../../components/FormError';
import { Alert, Badge, Button, Card, EmptyState, ErrorState, Field, Input, LoadMore, Modal, SkeletonRows, Table, Td, Th } from '../../components/ui';
import { formatDateTime } from '../../lib/format';
import { useForm } from '../../lib/useForm';

/** The event types a subscription may name (crm.WebhookEventTypes), or "*" for all. */
export const WEBHOOK_EVENTS = [
  'conversation.created', 'conversation.updated', 'message.created', 'message.updated', 'note.created',
  'contact.created', 'contact.updated', 'contact.deleted', 'label.created', 'label.updated', 'label.deleted',
  'quick_reply.created', 'quick_reply.updated', 'quick_reply.deleted', 'connection.updated',
  'campaign.updated', 'campaign.deleted', 'user.availability', 'webhook_subscription.disabled',
  'conversation.sla_breached', 'board.created', 'board.updated', 'board.deleted', 'column.created', 'column.updated', 'column.deleted',
  'card.created', 'card.updated', 'card.deleted',
] as const;

const ALL = '*';

/** Outbound webhooks: subscriptions, their delivery log with a resend button, and re-enabling a disabled one. */
export default function WebhooksSettings() {
  const { t } = useTranslation();
  const [ask, confirmDialog] = useConfirm();
  const qc = useQueryClient();
  const list = useQuery({ queryKey: ['webhooks'], queryFn: () => webhooks.list() });
  const [editing, setEditing] = useState<WebhookSubscription | 'new' | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [viewing, setViewing] = useState<string | null>(null);
  const invalidate = () => qc.invalidateQueries({ queryKey: ['webhooks'] });
  const remove = useMutation({ mutationFn: (id: string) => webhooks.remove(id), onSuccess: invalidate });
  const toggle = useMutation({ mutationFn: (s: WebhookSubscription) => webhooks.update(s.id, { enabled: s.status !== 'active' }), onSuccess: invalidate });
  const eventName = (e: string) => (e === ALL ? t('webhooks.all_events') : t(`webhooks.event_names.${e.replace('.', '_')}`, { defaultValue: e }));
  const selected = list.data?.find((s) => s.id === viewing);

  return (
    <>
      <Card>
        <div className="flex flex-wrap items-center justify-between gap-3 border-b border-gray-100 p-4">
          <div>
            <h2 className="font-semibold text-gray-900">{t('webhooks.title')}</h2>
            <p className="text-sm text-gray-500">{t('webhooks.description')}</p>
          </div>
          <Button onClick={() => setEditing('new')}><Plus className="h-4 w-4" aria-hidden /> {t('webhooks.new')}</Button>
        </div>
        {secret && (
          <Alert kind="success" className="m-4">
            <p className="font-medium">{t('webhooks.created')}. {t('webhooks.secret_once')}</p>
            <code className="mt-1 block break-all rounded bg-white px-2 py-1 font-mono text-sm" data-testid="webhook-secret">{secret}</code>
          </Alert>
        )}
        {(remove.isError || toggle.isError) && <div className="px-4 pt-4"><FormError error={remove.error ?? toggle.error} /></div>}
        {list.isPending ? (
          <SkeletonRows rows={3} />
        ) : list.isError ? (
          <ErrorState error={list.error} onRetry={() => list.refetch()} />
        ) : list.data.length === 0 ? (
          <EmptyState icon={<Webhook className="h-6 w-6" aria-hidden />} title={t('webhooks.empty')} description={t('webhooks.empty_hint')} />
        ) : (
          <ul className="divide-y divide-gray-100" data-testid="webhooks">
            {list.data.map((s) => (
              <li key={s.id} className="space-y-2 p-4">
                <div className="flex flex-wrap items-start gap-3">
                  <div className="min-w-0 flex-1">
                    <p className="break-all font-mono text-sm text-gray-900">{s.url}</p>
                    <div className="mt-1 flex flex-wrap gap-1">
                      <Badge className={s.status === 'active' ? 'bg-green-100 text-green-800' : 'bg-red-100 text-red-800'}>{t(`webhooks.status.${s.status}`)}</Badge>
                      {s.events.map((e) => <Badge key={e} className="font-mono">{e}</Badge>)}
                    </div>
                  </div>
                  <div className="flex shrink-0 flex-wrap gap-1">
                    <Button variant="outline" size="sm" onClick={() => setViewing(viewing === s.id ? null : s.id)} aria-pressed={viewing === s.id}>
                      <History className="h-4 w-4" aria-hidden /> {t('webhooks.deliveries')}
                    </Button>
                    <Button variant="outline" size="sm" loading={toggle.isPending && toggle.variables?.id === s.id} onClick={() => toggle.mutate(s)}>
                      <Power className="h-4 w-4" aria-hidden /> {s.status === 'active' ? t('webhooks.disable') : t('webhooks.enable')}
                    </Button>
                    <Button variant="ghost" size="sm" onClick={() => setEditing(s)} aria-label={t('common.edit_item', { name: s.url })}><Pencil className="h-4 w-4" aria-hidden /></Button>
                    <Button variant="ghost" size="sm" aria-label={t('common.delete_item', { name: s.url })}
                      onClick={() => { void ask({ message: t('webhooks.confirm_delete', { name: s.url }), confirmLabel: t('common.delete') }).then((ok) => { if (ok) remove.mutate(s.id); }); }}>
                      <Trash2 className="h-4 w-4 text-red-600" aria-hidden />
                    </Button>
                  </div>
                </div>
                {s.status === 'disabled' && s.disabled_reason && (
                  <Alert kind={s.disabled_reason === 'failing' ? 'warning' : 'info'}>
                    {t(`webhooks.disabled_reason.${s.disabled_reason}`)}{s.disabled_at ? ` (${formatDateTime(s.disabled_at)})` : ''}
                  </Alert>
                )}
              </li>
            ))}
          </ul>
        )}
        <p className="border-t border-gray-100 p-4 text-xs text-gray-500">{t('webhooks.signature_help')}</p>
      </Card>
      {selected && <Deliveries subscription={selected} eventName={eventName} />}
      {editing && (
        <WebhookForm subscription={editing === 'new' ? null : editing} eventName={eventName}
          onClose={() => setEditing(null)} onCreated={(s) => setSecret(s)} />
      )}
      {confirmDialog}
    </>
  );
}

function Deliveries({ subscription, eventName }: { subscription: WebhookSubscription; eventName: (e: string) => string }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const key = ['webhook-deliveries', subscription.id];
  const list = useInfiniteQuery({
    queryKey: key,
    queryFn: ({ pageParam }) => webhooks.deliveries(subscription.id, { cursor: pageParam, limit: 50 }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    refetchInterval: 5000,
  });
  const replay = useMutation({
    mutationFn: (d: WebhookDelivery) => webhooks.replay(subscription.id, d.id),
    onSuccess: () => qc.invalidateQueries({ queryKey: key }),
  });
  const items = list.data?.pages.flatMap((p) => p.items ?? []) ?? [];
  const resultColor = { succeeded: '#15803d', failed: '#b91c1c', pending: '#b45309' } as const;

  return (
    <Card className="mt-4">
      <div className="border-b border-gray-100 p-4">
        <h3 className="break-all font-semibold text-gray-900">{t('webhooks.deliveries_of', { url: subscription.url })}</h3>
      </div>
      {replay.isSuccess && <Alert kind="success" className="m-4">{t('webhooks.replayed')}</Alert>}
      {replay.isError && <div className="m-4"><FormError error={replay.error} /></div>}
      {list.isPending ? (
        <SkeletonRows rows={4} />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => list.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState icon={<History className="h-6 w-6" aria-hidden />} title={t('webhooks.no_deliveries')} description={t('webhooks.no_deliveries_hint')} />
      ) : (
        <>
          <Table>
            <thead>
              <tr>
                <Th>{t('webhooks.time')}</Th>
                <Th>{t('webhooks.event')}</Th>
                <Th>{t('webhooks.result')}</Th>
                <Th className="text-right">{t('webhooks.status_code')}</Th>
                <Th className="text-right">{t('webhooks.response_time')}</Th>
                <Th className="text-right">{t('webhooks.attempt')}</Th>
                <Th>{t('webhooks.error')}</Th>
                <Th className="text-right">{t('common.actions')}</Th>
              </tr>
            </thead>
            <tbody data-testid="webhook-deliveries">
              {items.map((d) => (
                <tr key={d.id}>
                  <Td className="whitespace-nowrap text-gray-500">{formatDateTime(d.last_attempt_at ?? d.created_at)}</Td>
                  <Td><span title={d.event_type}>{eventName(d.event_type)}</span></Td>
                  <Td><Badge color={resultColor[d.status]}>{t(`webhooks.delivery_status.${d.status}`)}</Badge></Td>
                  <Td className="text-right tabular-nums">{d.status_code ?? '—'}</Td>
                  <Td className="text-right tabular-nums">{d.response_ms == null ? '—' : `${d.response_ms} ms`}</Td>
                  <Td className="text-right tabular-nums">{d.attempts}</Td>
                  <Td><span className="line-clamp-2 break-all font-mono text-xs text-red-700" title={d.error ?? ''}>{d.error ?? ''}</span></Td>
                  <Td className="text-right">
                    <Button variant="outline" size="sm" disabled={subscription.status !== 'active'}
                      loading={replay.isPending && replay.variables?.id === d.id} onClick={() => replay.mutate(d)}
                      aria-label={t('webhooks.replay_item', { name: eventName(d.event_type) })}>
                      <RotateCcw className="h-4 w-4" aria-hidden /> {t('webhooks.replay')}
                    </Button>
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
          <LoadMore hasMore={!!list.hasNextPage} loading={list.isFetchingNextPage} onClick={() => list.fetchNextPage()} />
        </>
      )}
    </Card>
  );
}

function WebhookForm({ subscription, eventName, onClose, onCreated }: {
  subscription: WebhookSubscription | null; eventName: (e: string) => string; onClose: () => void; onCreated: (secret: string) => void;
}) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const f = useForm({ url: subscription?.url ?? 'https://', events: subscription?.events ?? ['message.created'], secret: '' });
  const all = f.values.events.includes(ALL);
  const toggleEvent = (e: string, on: boolean) => f.set('events', on ? [...f.values.events, e] : f.values.events.filter((x) => x !== e));
  const save = useMutation({
    mutationFn: () => {
      const body = { url: f.values.url.trim(), events: f.values.events, ...(f.values.secret ? { secret: f.values.secret } : {}) };
      return subscription ? webhooks.update(subscription.id, body) : webhooks.create(body);
    },
    onSuccess: (saved) => {
      void qc.invalidateQueries({ queryKey: ['webhooks'] });
      if (!subscription && saved.secret) onCreated(saved.secret);
      onClose();
    },
    onError: f.fail,
  });
  return (
    <Modal open wide onOpenChange={(o) => !o && onClose()} title={subscription ? t('webhooks.edit') : t('webhooks.new')}>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-4">
        <FormError error={f.formError} />
        <Field label={t('webhooks.url')} htmlFor="wh-url" error={f.errors.url} hint={t('webhooks.url_hint')}>
          <Input id="wh-url" type="url" value={f.values.url} onChange={(e) => f.set('url', e.target.value)} invalid={!!f.errors.url} required autoFocus />
        </Field>
        <fieldset>
          <legend className="mb-1 text-sm font-medium text-gray-700">{t('webhooks.events')}</legend>
          {f.errors.events && <p className="mb-1 text-sm text-red-600">{f.errors.events}</p>}
          <label className="flex items-center gap-2 text-sm font-medium">
            <input type="checkbox" checked={all} onChange={(e) => f.set('events', e.target.checked ? [ALL] : [])} /> {eventName(ALL)}
          </label>
          <div className="mt-2 grid gap-1 sm:grid-cols-2">
            {WEBHOOK_EVENTS.map((e) => (
              <label key={e} className="flex items-center gap-2 text-sm">
                <input type="checkbox" disabled={all} checked={all || f.values.events.includes(e)} onChange={(ev) => toggleEvent(e, ev.target.checked)} />
                <span>{eventName(e)} <code className="text-xs text-gray-500">{e}</code></span>
              </label>
            ))}
          </div>
        </fieldset>
        <Field label={subscription ? t('webhooks.secret_new') : `${t('webhooks.secret')} (${t('common.optional')})`} htmlFor="wh-secret" error={f.errors.secret}
          hint={subscription ? t('webhooks.secret_new_hint', { hint: subscription.secret_hint }) : t('webhooks.secret_hint')}>
          <Input id="wh-secret" value={f.values.secret} onChange={(e) => f.set('secret', e.target.value)} invalid={!!f.errors.secret} autoComplete="off" />
        </Field>
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending}>{t('common.save')}</Button>
        </div>
      </form>
    </Modal>
  );
}
