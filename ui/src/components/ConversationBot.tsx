// The chatbot on a conversation (issue 16): the "Bot atendendo" badge with
// its stop button, the dialog that hands the conversation to a published
// flow, and the side panel's "Dados do bot" (what the bot collected, so the
// agent who receives a hand-off sees it).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import clsx from 'clsx';
import { Bot, Square } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';
import { botFlows, conversations, tenant } from '../api/endpoints';
import type { BotSession, Conversation } from '../api/types';
import { upsertConversation } from '../lib/liveCache';
import { formatDateTime } from '../lib/format';
import { useConfirm } from './ConfirmDialog';
import { Alert, Button, Modal, SkeletonRows, useErrorText } from './ui';

/** Whether the tenant's plan includes the chatbot (the shell's tenant query, shared through its key). */
export function useChatbotEnabled(enabled = true): boolean {
  const q = useQuery({ queryKey: ['tenant'], queryFn: tenant.get, enabled, retry: false, staleTime: 60_000 });
  return q.data?.plan?.features?.chatbot === true;
}

/**
 * The conversation's bot session. The key follows bot_active and last_seq,
 * which live frames update: a bot that starts or stops, or a new message (an
 * answer the bot saved to a variable), fetches it again.
 */
export function useConversationBot(c: Conversation, enabled = true) {
  return useQuery({
    queryKey: ['bot', c.id, !!c.bot_active, c.last_seq ?? 0],
    queryFn: () => conversations.bot(c.id),
    enabled,
    retry: false,
    // keep showing the session of this conversation while the next fetch runs
    placeholderData: (prev, prevQuery) => (prevQuery?.queryKey[1] === c.id ? prev : undefined),
  });
}

/** 402: the plan lacks the chatbot feature; the bot's parts of the conversation stay hidden. */
function notInPlan(err: unknown): boolean {
  return err instanceof ApiError && err.status === 402;
}

/** After a bot command: the answered conversation replaces the cached one; lists and the session refresh. */
function useAfterBotCommand(id: string) {
  const qc = useQueryClient();
  return (c?: Conversation) => {
    if (c?.id) upsertConversation(qc, c);
    void qc.invalidateQueries({ queryKey: ['conversation', id] });
    void qc.invalidateQueries({ queryKey: ['conversations'] });
    void qc.invalidateQueries({ queryKey: ['bot', id] });
  };
}

/** "Bot atendendo · <flow>" and "Parar bot", while a bot runs the conversation. */
export function BotActiveBadge({ conversation, preview }: { conversation: Conversation; preview?: boolean }) {
  const { t } = useTranslation();
  const errorText = useErrorText();
  const active = !!conversation.bot_active;
  const q = useConversationBot(conversation, active && !preview);
  const [ask, dialog] = useConfirm();
  const after = useAfterBotCommand(conversation.id);
  const stop = useMutation({
    mutationFn: () => conversations.stopBot(conversation.id),
    onSuccess: (c) => after(c),
    onError: (err) => {
      // the bot finished on its own meanwhile: nothing left to stop
      if (err instanceof ApiError && err.code === 'bot_not_active') after();
    },
  });
  if (!active) return null;
  const flow = q.data?.session?.flow_name;
  async function onStop() {
    if (preview) return;
    const ok = await ask({
      message: flow ? t('conversation_bot.stop_confirm_flow', { flow }) : t('conversation_bot.stop_confirm'),
      confirmLabel: t('conversation_bot.stop'),
    });
    if (ok) stop.mutate();
  }
  const failed = stop.isError && !(stop.error instanceof ApiError && stop.error.code === 'bot_not_active');
  return (
    <div className="flex shrink-0 items-center gap-1" data-testid="bot-active">
      <span className="inline-flex max-w-[14rem] items-center gap-1 rounded-full bg-violet-100 px-2 py-0.5 text-xs font-medium text-violet-800" data-testid="bot-badge">
        <Bot className="h-3.5 w-3.5 shrink-0" aria-hidden />
        <span className="truncate">{t('conversation_bot.active')}{flow ? ` · ${flow}` : ''}</span>
      </span>
      <Button variant="outline" size="sm" onClick={onStop} loading={stop.isPending} data-testid="stop-bot" title={t('conversation_bot.stop')} aria-label={t('conversation_bot.stop')}>
        <Square className="h-3.5 w-3.5" aria-hidden /> <span className="hidden sm:inline">{t('conversation_bot.stop')}</span>
      </Button>
      {failed && <span className="text-xs text-red-600" role="alert" data-testid="stop-bot-error">{errorText(stop.error)}</span>}
      {dialog}
    </div>
  );
}

/** Hands the conversation to a published flow: it starts from its start block on the active version. */
export function HandToFlowDialog({ conversation, onClose }: { conversation: Conversation; onClose: () => void }) {
  const { t } = useTranslation();
  const errorText = useErrorText();
  const flowsQ = useQuery({ queryKey: ['bot-flows'], queryFn: () => botFlows.list(), retry: false });
  const published = (flowsQ.data ?? []).filter((f) => f.active);
  const [chosen, setChosen] = useState('');
  const flowId = chosen || published[0]?.id || '';
  const after = useAfterBotCommand(conversation.id);
  const start = useMutation({
    mutationFn: () => conversations.startBot(conversation.id, flowId),
    onSuccess: (c) => {
      after(c);
      onClose();
    },
    onError: (err) => {
      if (err instanceof ApiError && err.status === 422) void flowsQ.refetch();
      if (err instanceof ApiError && err.code === 'bot_active') after();
    },
  });
  let error = '';
  if (start.error instanceof ApiError && start.error.status === 422) error = t('conversation_bot.not_published');
  else if (start.error) error = errorText(start.error);
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t('conversation_bot.hand_title')} description={t('conversation_bot.hand_hint')}>
      <form onSubmit={(e) => { e.preventDefault(); if (flowId) start.mutate(); }} className="space-y-4" data-testid="hand-to-flow">
        {error && <Alert kind="error"><span data-testid="form-error">{error}</span></Alert>}
        {flowsQ.isPending ? (
          <SkeletonRows rows={2} />
        ) : flowsQ.isError ? (
          <Alert kind="error">{notInPlan(flowsQ.error) ? t('bots.not_in_plan') : errorText(flowsQ.error)}</Alert>
        ) : published.length === 0 ? (
          <p className="text-sm text-gray-500" data-testid="no-published-flows">{t('conversation_bot.no_flows')}</p>
        ) : (
          <fieldset className="space-y-1">
            <legend className="mb-1 text-sm font-medium text-gray-700">{t('conversation_bot.flow')}</legend>
            {published.map((f) => (
              <label key={f.id} className={clsx('flex cursor-pointer items-start gap-2 rounded-lg border px-3 py-2 text-sm', f.id === flowId ? 'border-brand-500 bg-brand-50' : 'border-gray-200 hover:bg-gray-50')}>
                <input type="radio" name="flow" className="mt-0.5" value={f.id} checked={f.id === flowId} onChange={() => setChosen(f.id)} />
                <span className="min-w-0">
                  <span className="block font-medium text-gray-900">{f.name} <span className="text-xs font-normal text-gray-500">v{f.active_version}</span></span>
                  {f.description && <span className="block truncate text-xs text-gray-500">{f.description}</span>}
                </span>
              </label>
            ))}
          </fieldset>
        )}
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={start.isPending} disabled={!flowId} data-testid="start-flow"><Bot className="h-4 w-4" aria-hidden /> {t('conversation_bot.start')}</Button>
        </div>
      </form>
    </Modal>
  );
}

const STATUS_STYLE: Record<BotSession['status'], string> = {
  active: 'bg-violet-100 text-violet-800', waiting: 'bg-violet-100 text-violet-800', completed: 'bg-gray-100 text-gray-700',
  handed_off: 'bg-sky-100 text-sky-800', stopped: 'bg-gray-100 text-gray-700', failed: 'bg-red-100 text-red-800',
};

/** "Dados do bot": the flow, where the session stands and the variables it collected. Hidden when no bot ever ran here. */
export function BotDataSection({ conversation, preview }: { conversation: Conversation; preview?: boolean }) {
  const { t } = useTranslation();
  const errorText = useErrorText();
  const q = useConversationBot(conversation, !preview);
  if (preview || (q.isError && notInPlan(q.error))) return null;
  const s = q.data?.session;
  if (!q.isPending && !q.isError && !s) return null;
  const vars = Object.entries(s?.variables ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section className="border-b border-gray-100 px-4 py-3" data-testid="bot-data">
      <h3 className="mb-2 flex items-center gap-1 text-xs font-semibold uppercase tracking-wide text-gray-500"><Bot className="h-3.5 w-3.5" aria-hidden /> {t('conversation_bot.data_title')}</h3>
      {q.isPending ? (
        <SkeletonRows rows={1} />
      ) : q.isError ? (
        <p className="text-sm text-red-600" role="alert">{errorText(q.error)}</p>
      ) : s && (
        <>
          <p className="mb-2 flex flex-wrap items-center gap-x-2 gap-y-1 text-sm text-gray-700">
            <span className="font-medium" data-testid="bot-flow-name">{s.flow_name}</span>
            <span className="text-xs text-gray-500">v{s.version}</span>
            <span className={clsx('rounded-full px-2 py-0.5 text-[11px] font-medium', STATUS_STYLE[s.status] ?? 'bg-gray-100 text-gray-700')} data-testid="bot-status" data-status={s.status}>
              {t(`conversation_bot.status.${s.status}`, { defaultValue: s.status })}
              {s.status === 'waiting' && s.waiting ? ` · ${t(`conversation_bot.waiting.${s.waiting}`, { defaultValue: s.waiting })}` : ''}
            </span>
          </p>
          {vars.length === 0 ? (
            <p className="text-sm text-gray-400">{t('conversation_bot.no_variables')}</p>
          ) : (
            <dl className="space-y-2 text-sm" data-testid="bot-variables">
              {vars.map(([k, v]) => (
                <div key={k}>
                  <dt className="font-mono text-xs text-gray-500">{k}</dt>
                  <dd className="whitespace-pre-wrap break-words text-gray-900">{v === '' || v == null ? '—' : String(v)}</dd>
                </div>
              ))}
            </dl>
          )}
          <p className="mt-2 text-[11px] text-gray-400">{t('conversation_bot.updated', { time: formatDateTime(s.updated_at) })}</p>
        </>
      )}
    </section>
  );
}
