import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import clsx from 'clsx';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../../api/client';
import { campaigns, connections, labels } from '../../api/endpoints';
import type { Campaign, CampaignAudience, CampaignInput, MessageTemplate } from '../../api/types';
import { FormError } from '../../components/FormError';
import { Alert, Button, Field, Input, Modal, Select, Textarea } from '../../components/ui';
import { estimateSeconds, renderVariables, windowMinutes } from '../../lib/campaigns';
import { formatDuration, formatNumber } from '../../lib/format';
import { bodyParams, component, fill, sendable, templatePayload } from '../../lib/templates';
import { useDebounced } from '../../lib/useDebounced';
import { useForm } from '../../lib/useForm';

const STEPS = ['message', 'audience', 'schedule', 'review'] as const;
const PRESETS = [20, 60, 600];
const VARIABLES = ['contact.name', 'contact.phone', 'contact.email'];

interface Values extends Record<string, unknown> {
  name: string; connection_id: string; type: 'text' | 'template'; text: string;
  template_id: string; params: string[];
  label_ids: string[]; exclude_label_ids: string[]; custom_key: string; custom_value: string; created_after: string; last_inbound_after: string;
  start: 'now' | 'later'; scheduled_at: string; rate_per_minute: number; jitter_pct: number;
  quiet: boolean; quiet_from: string; quiet_to: string; timezone: string;
}

function initial(c?: Campaign): Values {
  const custom = Object.entries(c?.audience.custom_fields ?? {})[0];
  return {
    name: c?.name ?? '', connection_id: c?.connection_id ?? '', type: c?.message.type === 'template' ? 'template' : 'text', text: c?.message.text ?? '',
    template_id: '', params: templateParams(c),
    label_ids: c?.audience.label_ids ?? [], exclude_label_ids: c?.audience.exclude_label_ids ?? [],
    custom_key: custom?.[0] ?? '', custom_value: custom?.[1] ?? '',
    created_after: c?.audience.created_after?.slice(0, 10) ?? '', last_inbound_after: c?.audience.last_inbound_after?.slice(0, 10) ?? '',
    start: c?.scheduled_at ? 'later' : 'now', scheduled_at: c?.scheduled_at ? toLocalInput(c.scheduled_at) : '',
    rate_per_minute: c?.rate_per_minute ?? 20, jitter_pct: c?.jitter_pct ?? 0,
    quiet: !!c?.quiet_hours, quiet_from: c?.quiet_hours?.from ?? '21:00', quiet_to: c?.quiet_hours?.to ?? '08:00',
    timezone: c?.quiet_hours?.timezone ?? 'America/Sao_Paulo',
  };
}

/** The parameter texts of a saved template message (its body's). */
function templateParams(c?: Campaign): string[] {
  const comps = (c?.message.template as { components?: { parameters?: { text?: string }[] }[] } | undefined)?.components ?? [];
  return (comps[0]?.parameters ?? []).map((p) => p.text ?? '');
}

function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function audienceOf(v: Values): CampaignAudience {
  const a: CampaignAudience = {};
  if (v.label_ids.length) a.label_ids = v.label_ids;
  if (v.exclude_label_ids.length) a.exclude_label_ids = v.exclude_label_ids;
  if (v.custom_key.trim()) a.custom_fields = { [v.custom_key.trim()]: v.custom_value };
  if (v.created_after) a.created_after = new Date(`${v.created_after}T00:00:00`).toISOString();
  if (v.last_inbound_after) a.last_inbound_after = new Date(`${v.last_inbound_after}T00:00:00`).toISOString();
  return a;
}

function LabelChips({ all, chosen, onChange, testid }: { all: { id: string; name: string; color: string }[]; chosen: string[]; onChange: (ids: string[]) => void; testid: string }) {
  return (
    <div className="flex flex-wrap gap-1.5" data-testid={testid}>
      {all.map((l) => {
        const on = chosen.includes(l.id);
        return (
          <button key={l.id} type="button" aria-pressed={on} onClick={() => onChange(on ? chosen.filter((x) => x !== l.id) : [...chosen, l.id])}
            className={clsx('rounded-full border px-2.5 py-0.5 text-xs', on ? 'border-transparent text-white' : 'border-gray-300 text-gray-700 hover:bg-gray-50')}
            style={on ? { backgroundColor: l.color } : undefined}>{l.name}</button>
        );
      })}
    </div>
  );
}

/** Writes a campaign in four steps (message, audience, schedule and pace, review), and saves it as a draft or starts it. */
export function CampaignWizard({ campaign, onClose, onSaved }: { campaign?: Campaign; onClose: () => void; onSaved: (c: Campaign) => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const f = useForm<Values>(initial(campaign));
  const v = f.values;
  const [step, setStep] = useState(0);
  const conns = useQuery({ queryKey: ['connections'], queryFn: () => connections.list() });
  const labelsQ = useQuery({ queryKey: ['labels'], queryFn: () => labels.list() });
  const connectionId = v.connection_id || conns.data?.[0]?.id || '';
  const connection = conns.data?.find((c) => c.id === connectionId);
  const templatesQ = useQuery({ queryKey: ['templates', connectionId], queryFn: () => connections.templates(connectionId), enabled: !!connectionId && v.type === 'template', retry: false });
  const templates = useMemo(() => (templatesQ.data ?? []).filter(sendable), [templatesQ.data]);
  const savedName = campaign?.message.type === 'template' ? campaign.message.template?.name : undefined;
  const chosen: MessageTemplate | undefined = templates.find((x) => x.id === v.template_id) ?? (v.template_id ? undefined : templates.find((x) => x.name === savedName));
  const audience = audienceOf(v);
  const debounced = useDebounced(JSON.stringify([connectionId, audience]), 400);
  const preview = useQuery({
    queryKey: ['audience-preview', debounced],
    queryFn: () => { const [c, a] = JSON.parse(debounced) as [string, CampaignAudience]; return campaigns.preview(c, a); },
    enabled: !!connectionId,
  });
  const sample = preview.data?.sample?.[0];
  const count = preview.data?.count ?? 0;
  const quietMinutes = v.quiet ? windowMinutes(v.quiet_from, v.quiet_to) : 0;
  const seconds = estimateSeconds(count, v.rate_per_minute, quietMinutes);
  const bubble = v.type === 'template'
    ? (chosen ? [component(chosen, 'HEADER')?.text, fill(component(chosen, 'BODY')?.text ?? '', v.params.map((p) => renderVariables(p, sample))), component(chosen, 'FOOTER')?.text].filter(Boolean).join('\n\n') : '')
    : renderVariables(v.text, sample);

  const body = (): CampaignInput => ({
    name: v.name.trim(), connection_id: connectionId,
    message: v.type === 'template' && chosen ? { type: 'template', template: templatePayload(chosen, v.params) } : { type: 'text', text: v.text },
    audience,
    scheduled_at: v.start === 'later' && v.scheduled_at ? new Date(v.scheduled_at).toISOString() : null,
    rate_per_minute: Number(v.rate_per_minute), jitter_pct: Number(v.jitter_pct),
    quiet_hours: v.quiet ? { from: v.quiet_from, to: v.quiet_to, timezone: v.timezone } : null,
  });
  const save = useMutation({
    mutationFn: async (start: boolean) => {
      const saved = campaign ? await campaigns.update(campaign.id, body()) : await campaigns.create(body());
      if (!start) return saved;
      try {
        return await campaigns.act(saved.id, 'start');
      } catch (err) {
        void qc.invalidateQueries({ queryKey: ['campaigns'] });
        throw err; // the draft is saved; the start's refusal is shown
      }
    },
    onSuccess: (c) => {
      qc.setQueryData(['campaign', c.id], c);
      void qc.invalidateQueries({ queryKey: ['campaigns'] });
      onSaved(c);
    },
    onError: f.fail,
  });

  const stepErrors = (): boolean => {
    if (STEPS[step] === 'message') {
      if (!v.name.trim()) { f.fail(fieldError('name', t('campaigns.errors.name'))); return true; }
      if (v.type === 'text' && !v.text.trim()) { f.fail(fieldError('text', t('campaigns.errors.text'))); return true; }
      if (v.type === 'template' && !chosen) { f.fail(fieldError('template_id', t('campaigns.errors.template'))); return true; }
    }
    if (STEPS[step] === 'schedule' && v.start === 'later' && !v.scheduled_at) { f.fail(fieldError('scheduled_at', t('campaigns.errors.when'))); return true; }
    return false;
  };
  const next = () => { if (!stepErrors()) { f.clearErrors(); setStep((s) => Math.min(s + 1, STEPS.length - 1)); } };

  return (
    <Modal open wide onOpenChange={(o) => !o && onClose()} title={campaign ? t('campaigns.edit') : t('campaigns.new')}>
      <ol className="mb-4 flex gap-2 text-xs" aria-label={t('campaigns.steps_label')}>
        {STEPS.map((s, i) => (
          <li key={s} aria-current={i === step ? 'step' : undefined}
            className={clsx('flex-1 rounded-full px-2 py-1 text-center', i === step ? 'bg-brand-600 text-white' : i < step ? 'bg-brand-50 text-brand-800' : 'bg-gray-100 text-gray-500')}>
            {i + 1}. {t(`campaigns.steps.${s}`)}
          </li>
        ))}
      </ol>
      <FormError error={f.formError} />
      <form onSubmit={(e) => { e.preventDefault(); if (step < STEPS.length - 1) next(); }} className="space-y-4">
        {STEPS[step] === 'message' && (
          <div className="grid gap-4 md:grid-cols-[1fr_14rem]">
            <div className="space-y-3">
              <Field label={t('campaigns.name')} htmlFor="campaign-name" error={f.errors.name}>
                <Input id="campaign-name" value={v.name} onChange={(e) => f.set('name', e.target.value)} maxLength={120} invalid={!!f.errors.name} autoFocus />
              </Field>
              <Field label={t('campaigns.connection')} htmlFor="campaign-connection" error={f.errors.connection_id}>
                <Select id="campaign-connection" value={connectionId} onChange={(e) => { f.set('connection_id', e.target.value); f.set('template_id', ''); }}>
                  {(conns.data ?? []).map((c) => <option key={c.id} value={c.id}>{c.name} ({c.channel})</option>)}
                </Select>
              </Field>
              <Field label={t('campaigns.message_type')} htmlFor="campaign-type">
                <Select id="campaign-type" value={v.type} onChange={(e) => f.set('type', e.target.value as Values['type'])}>
                  <option value="template">{t('campaigns.type_template')}</option>
                  <option value="text">{t('campaigns.type_text')}</option>
                </Select>
              </Field>
              {v.type === 'text' ? (
                <Field label={t('campaigns.text')} htmlFor="campaign-text" error={f.errors.text ?? f.errors['message.text']} hint={t('campaigns.text_hint')}>
                  <Textarea id="campaign-text" rows={4} value={v.text} onChange={(e) => f.set('text', e.target.value)} maxLength={4096} />
                  <div className="mt-1 flex flex-wrap gap-1">
                    {VARIABLES.map((x) => (
                      <button key={x} type="button" className="rounded border border-gray-300 px-1.5 py-0.5 font-mono text-[11px] text-gray-600 hover:bg-gray-50"
                        onClick={() => f.set('text', `${v.text}{{${x}}}`)}>{`{{${x}}}`}</button>
                    ))}
                  </div>
                </Field>
              ) : (
                <Field label={t('campaigns.template')} htmlFor="campaign-template" error={f.errors.template_id ?? f.errors['message.template']}>
                  <Select id="campaign-template" value={chosen?.id ?? ''} onChange={(e) => { f.set('template_id', e.target.value); f.set('params', []); }}>
                    <option value="">{templatesQ.isPending ? t('common.loading') : t('campaigns.choose_template')}</option>
                    {templates.map((x) => <option key={x.id} value={x.id}>{x.name} · {x.language}</option>)}
                  </Select>
                  {chosen && bodyParams(chosen).map((n) => (
                    <Input key={n} className="mt-1" aria-label={t('templates.param', { n })} placeholder={t('campaigns.param_hint', { n })}
                      value={v.params[n - 1] ?? ''} onChange={(e) => { const p = [...v.params]; p[n - 1] = e.target.value; f.set('params', p); }} />
                  ))}
                </Field>
              )}
            </div>
            <div className="chat-wallpaper rounded-lg p-3" aria-label={t('campaigns.preview')}>
              <p className="mb-1 text-[11px] font-medium uppercase text-gray-500">{t('campaigns.preview')}</p>
              <div className="w-fit max-w-full whitespace-pre-wrap break-words rounded-lg rounded-tl-none bg-white px-2 py-1.5 text-sm text-gray-900 shadow-sm" data-testid="campaign-preview">
                {bubble || <span className="text-gray-400">{t('campaigns.preview_empty')}</span>}
              </div>
              <p className="mt-1 text-[11px] text-gray-500">{t('campaigns.preview_for', { name: sample?.name ?? 'Maria' })}</p>
            </div>
          </div>
        )}
        {STEPS[step] === 'audience' && (
          <div className="space-y-3">
            <Field label={t('campaigns.labels_in')}><LabelChips testid="audience-labels" all={labelsQ.data ?? []} chosen={v.label_ids} onChange={(ids) => f.set('label_ids', ids)} /></Field>
            <Field label={t('campaigns.labels_out')}><LabelChips testid="audience-exclude" all={labelsQ.data ?? []} chosen={v.exclude_label_ids} onChange={(ids) => f.set('exclude_label_ids', ids)} /></Field>
            <div className="grid gap-3 sm:grid-cols-2">
              <Field label={t('campaigns.custom_key')} htmlFor="aud-key"><Input id="aud-key" value={v.custom_key} onChange={(e) => f.set('custom_key', e.target.value)} placeholder="cidade" /></Field>
              <Field label={t('campaigns.custom_value')} htmlFor="aud-value"><Input id="aud-value" value={v.custom_value} onChange={(e) => f.set('custom_value', e.target.value)} placeholder="Recife" /></Field>
              <Field label={t('campaigns.created_after')} htmlFor="aud-created"><Input id="aud-created" type="date" value={v.created_after} onChange={(e) => f.set('created_after', e.target.value)} /></Field>
              <Field label={t('campaigns.last_inbound_after')} htmlFor="aud-inbound"><Input id="aud-inbound" type="date" value={v.last_inbound_after} onChange={(e) => f.set('last_inbound_after', e.target.value)} /></Field>
            </div>
            <AudienceCount preview={preview.data} loading={preview.isFetching} isText={v.type === 'text'} whatsapp={connection?.channel === 'whatsapp'} />
          </div>
        )}
        {STEPS[step] === 'schedule' && (
          <div className="space-y-3">
            <fieldset className="flex flex-wrap gap-4 text-sm">
              <legend className="sr-only">{t('campaigns.when')}</legend>
              <label className="flex items-center gap-1.5"><input type="radio" name="start" checked={v.start === 'now'} onChange={() => f.set('start', 'now')} /> {t('campaigns.start_now')}</label>
              <label className="flex items-center gap-1.5"><input type="radio" name="start" checked={v.start === 'later'} onChange={() => f.set('start', 'later')} /> {t('campaigns.start_later')}</label>
            </fieldset>
            {v.start === 'later' && (
              <Field label={t('campaigns.scheduled_at')} htmlFor="campaign-at" error={f.errors.scheduled_at}>
                <Input id="campaign-at" type="datetime-local" value={v.scheduled_at} onChange={(e) => f.set('scheduled_at', e.target.value)} />
              </Field>
            )}
            <Field label={t('campaigns.pace')} htmlFor="campaign-rate" error={f.errors.rate_per_minute} hint={t('campaigns.pace_hint')}>
              <div className="flex flex-wrap gap-2">
                {PRESETS.map((r) => (
                  <Button key={r} type="button" size="sm" variant={Number(v.rate_per_minute) === r ? 'primary' : 'outline'} onClick={() => f.set('rate_per_minute', r)}>
                    {t(`campaigns.presets.p${r}`)}
                  </Button>
                ))}
                <Input id="campaign-rate" type="number" min={1} max={60000} className="w-28" value={v.rate_per_minute}
                  onChange={(e) => f.set('rate_per_minute', Number(e.target.value))} aria-label={t('campaigns.rate_custom')} />
              </div>
            </Field>
            <Field label={t('campaigns.jitter')} htmlFor="campaign-jitter" error={f.errors.jitter_pct}>
              <Input id="campaign-jitter" type="number" min={0} max={50} className="w-24" value={v.jitter_pct} onChange={(e) => f.set('jitter_pct', Number(e.target.value))} />
            </Field>
            <label className="flex items-center gap-2 text-sm"><input type="checkbox" checked={v.quiet} onChange={(e) => f.set('quiet', e.target.checked)} /> {t('campaigns.quiet')}</label>
            {v.quiet && (
              <div className="grid gap-3 sm:grid-cols-3">
                <Field label={t('campaigns.quiet_from')} htmlFor="quiet-from" error={f.errors['quiet_hours.from']}><Input id="quiet-from" type="time" value={v.quiet_from} onChange={(e) => f.set('quiet_from', e.target.value)} /></Field>
                <Field label={t('campaigns.quiet_to')} htmlFor="quiet-to" error={f.errors['quiet_hours.to']}><Input id="quiet-to" type="time" value={v.quiet_to} onChange={(e) => f.set('quiet_to', e.target.value)} /></Field>
                <Field label={t('campaigns.timezone')} htmlFor="quiet-tz" error={f.errors['quiet_hours.timezone']}><Input id="quiet-tz" value={v.timezone} onChange={(e) => f.set('timezone', e.target.value)} /></Field>
              </div>
            )}
            <div data-testid="campaign-estimate"><Alert kind="info">{t('campaigns.estimate', { duration: formatDuration(Math.round(seconds)), count: formatNumber(count) })}</Alert></div>
          </div>
        )}
        {STEPS[step] === 'review' && (
          <dl className="grid grid-cols-[10rem_1fr] gap-x-3 gap-y-1.5 text-sm" data-testid="campaign-review">
            <dt className="text-gray-500">{t('campaigns.name')}</dt><dd>{v.name}</dd>
            <dt className="text-gray-500">{t('campaigns.connection')}</dt><dd>{connection?.name}</dd>
            <dt className="text-gray-500">{t('campaigns.message')}</dt><dd className="whitespace-pre-wrap">{bubble}</dd>
            <dt className="text-gray-500">{t('campaigns.audience')}</dt><dd>{t('campaigns.audience_count', { count, formatted: formatNumber(count) })}</dd>
            <dt className="text-gray-500">{t('campaigns.when')}</dt><dd>{v.start === 'now' ? t('campaigns.start_now') : v.scheduled_at.replace('T', ' ')}</dd>
            <dt className="text-gray-500">{t('campaigns.pace')}</dt><dd>{t('campaigns.rate', { rate: formatNumber(v.rate_per_minute) })} · {formatDuration(Math.round(seconds))}</dd>
          </dl>
        )}
        <div className="flex justify-between gap-2 pt-2">
          <Button type="button" variant="outline" onClick={() => (step === 0 ? onClose() : setStep(step - 1))}>{step === 0 ? t('common.cancel') : t('campaigns.back')}</Button>
          {step < STEPS.length - 1 ? (
            <Button type="submit" data-testid="wizard-next">{t('campaigns.next')}</Button>
          ) : (
            <div className="flex gap-2">
              <Button type="button" variant="outline" loading={save.isPending && save.variables === false} onClick={() => save.mutate(false)} data-testid="save-draft">{t('campaigns.save_draft')}</Button>
              <Button type="button" loading={save.isPending && save.variables === true} onClick={() => save.mutate(true)} data-testid="start-campaign">
                {v.start === 'later' ? t('campaigns.schedule') : t('campaigns.start')}
              </Button>
            </div>
          )}
        </div>
      </form>
    </Modal>
  );
}

function fieldError(field: string, message: string) {
  return new ApiError(400, 'validation_failed', message, { fields: { [field]: message } });
}

function AudienceCount({ preview, loading, isText, whatsapp }: {
  preview?: { count: number; opted_out: number; blocked: number; no_identity: number; duplicate: number; outside_window: number }; loading: boolean; isText: boolean; whatsapp: boolean;
}) {
  const { t } = useTranslation();
  if (!preview) return <p className="text-sm text-gray-500">{loading ? t('common.loading') : ''}</p>;
  return (
    <div className="space-y-2" aria-live="polite">
      <p className="text-base font-semibold text-gray-900" data-testid="audience-count" data-count={preview.count}>
        {t('campaigns.audience_count', { count: preview.count, formatted: formatNumber(preview.count) })}
      </p>
      {(preview.opted_out + preview.no_identity + preview.blocked + preview.duplicate) > 0 && (
        <p className="text-xs text-gray-600">{t('campaigns.skipped_hint', { opted_out: preview.opted_out, no_identity: preview.no_identity, blocked: preview.blocked + preview.duplicate })}</p>
      )}
      {isText && whatsapp && preview.outside_window > 0 && <Alert kind="warning">{t('campaigns.outside_window', { count: preview.outside_window })}</Alert>}
    </div>
  );
}
