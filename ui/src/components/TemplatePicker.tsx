import { useQuery } from '@tanstack/react-query';
import clsx from 'clsx';
import { FileText, Send, X } from 'lucide-react';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { connections } from '../api/endpoints';
import type { MessageTemplate, TemplateSend } from '../api/types';
import { bodyExamples, bodyParams, component, previewText, sendable, templatePayload } from '../lib/templates';
import { Button, EmptyState, ErrorState, Input, SkeletonRows } from './ui';

/**
 * The connection's approved templates: choose one, fill its body parameters,
 * see the message as the customer will, send it. Shown by the composer when
 * the 24-hour window is closed, and on demand.
 */
export function TemplatePicker({ connectionId, windowClosed, sending, onSend, onClose }: {
  connectionId: string;
  windowClosed: boolean;
  sending?: boolean;
  onSend: (template: TemplateSend, preview: string) => void;
  onClose?: () => void;
}) {
  const { t } = useTranslation();
  const q = useQuery({ queryKey: ['templates', connectionId], queryFn: () => connections.templates(connectionId), staleTime: 5 * 60_000, retry: false });
  const list = useMemo(() => (q.data ?? []).filter(sendable), [q.data]);
  const [chosenId, setChosenId] = useState<string | null>(null);
  const [values, setValues] = useState<string[]>([]);
  const chosen: MessageTemplate | undefined = list.find((x) => x.id === chosenId);
  const params = chosen ? bodyParams(chosen) : [];
  const examples = chosen ? bodyExamples(chosen) : [];
  const missing = params.some((n) => !(values[n - 1] ?? '').trim());
  const preview = chosen ? previewText(chosen, values) : '';
  const buttons = chosen ? component(chosen, 'BUTTONS')?.buttons ?? [] : [];

  return (
    <section className="mb-2 rounded-lg border border-gray-200 bg-white shadow-sm" aria-label={t('templates.title')} data-testid="template-picker">
      <header className="flex items-center gap-2 border-b border-gray-100 px-3 py-2">
        <FileText className="h-4 w-4 text-brand-600" aria-hidden />
        <div className="min-w-0 flex-1">
          <p className="text-sm font-medium text-gray-900">{t('templates.title')}</p>
          <p className="text-xs text-gray-500">{windowClosed ? t('templates.window_closed') : t('templates.anytime')}</p>
        </div>
        {onClose && (
          <button type="button" onClick={onClose} className="rounded-full p-1 text-gray-500 hover:bg-gray-100" aria-label={t('templates.close')}>
            <X className="h-4 w-4" aria-hidden />
          </button>
        )}
      </header>
      {q.isPending ? (
        <SkeletonRows rows={2} />
      ) : q.isError ? (
        <ErrorState error={q.error} onRetry={() => q.refetch()} />
      ) : list.length === 0 ? (
        <EmptyState title={t('templates.empty')} description={t('templates.empty_hint')} />
      ) : (
        <div className="grid max-h-[50vh] gap-3 overflow-y-auto p-3 md:grid-cols-[minmax(0,14rem)_1fr]">
          <ul className="space-y-1" role="listbox" aria-label={t('templates.choose')}>
            {list.map((tpl) => (
              <li key={tpl.id} role="option" aria-selected={tpl.id === chosenId}>
                <button type="button" data-testid="template-option" onClick={() => { setChosenId(tpl.id); setValues([]); }}
                  className={clsx('w-full rounded-md px-2 py-1.5 text-left text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500', tpl.id === chosenId ? 'bg-brand-50 text-brand-800' : 'hover:bg-gray-50')}>
                  <span className="block font-mono text-xs font-semibold">{tpl.name}</span>
                  <span className="block truncate text-xs text-gray-500">{component(tpl, 'BODY')?.text}</span>
                  <span className="text-[10px] uppercase text-gray-400">{tpl.language} · {tpl.category}</span>
                </button>
              </li>
            ))}
          </ul>
          {chosen ? (
            <form className="space-y-2" onSubmit={(e) => { e.preventDefault(); if (!missing && !sending) onSend(templatePayload(chosen, values), preview); }}>
              {params.map((n) => (
                <label key={n} className="block text-xs text-gray-600">
                  {t('templates.param', { n })}
                  <Input className="mt-0.5" value={values[n - 1] ?? ''} placeholder={examples[n - 1] ?? ''} aria-label={t('templates.param', { n })}
                    onChange={(e) => setValues((v) => { const next = [...v]; next[n - 1] = e.target.value; return next; })} />
                </label>
              ))}
              <div className="chat-wallpaper rounded-md p-2">
                <p className="mb-1 text-[11px] font-medium uppercase text-gray-500">{t('templates.preview')}</p>
                <div className="ml-auto w-fit max-w-full whitespace-pre-wrap break-words rounded-lg rounded-tr-none bg-chat-out px-2 py-1.5 text-sm text-gray-900 shadow-sm" data-testid="template-preview">
                  {preview}
                </div>
                {buttons.length > 0 && (
                  <div className="ml-auto mt-1 flex w-fit flex-wrap justify-end gap-1">
                    {buttons.map((b, i) => <span key={i} className="rounded-md bg-white px-2 py-1 text-xs text-sky-700 shadow-sm">{b.text}</span>)}
                  </div>
                )}
              </div>
              <div className="flex justify-end">
                <Button type="submit" size="sm" disabled={missing} loading={sending} data-testid="send-template">
                  <Send className="h-4 w-4" aria-hidden /> {t('templates.send')}
                </Button>
              </div>
            </form>
          ) : (
            <p className="self-center text-center text-sm text-gray-500">{t('templates.pick_hint')}</p>
          )}
        </div>
      )}
    </section>
  );
}
