import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../../api/client';
import { routing } from '../../api/endpoints';
import type { ServiceSettings } from '../../api/types';
import { BusinessHoursEditor, defaultBusinessHours } from '../../components/BusinessHoursEditor';
import { Alert, Button, Card, ErrorState, Field, Input, Skeleton, Textarea, useErrorText } from '../../components/ui';
import { translateFieldErrors } from '../../lib/fieldMessages';

/** The keys of the server's field errors this page shows beside a field (the rest go above the form). */
function shownHere(key: string): boolean {
  return /^business_hours\.(timezone|days|holidays)/.test(key) || ['outside_hours_reply.enabled', 'outside_hours_reply.text', 'auto_close.idle_hours', 'auto_close.message'].includes(key);
}

function Switch({ id, checked, disabled, onChange, label, hint }: { id: string; checked: boolean; disabled?: boolean; onChange: (on: boolean) => void; label: string; hint?: string }) {
  return (
    <label htmlFor={id} className="flex items-start gap-3">
      <input id={id} type="checkbox" role="switch" className="mt-1 h-4 w-4 accent-brand-600" checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} />
      <span>
        <span className="block text-sm font-medium text-gray-900">{label}</span>
        {hint && <span className="block text-sm text-gray-500">{hint}</span>}
      </span>
    </label>
  );
}

/**
 * Service settings (issue 18): the company's business hours (or always
 * open), the automatic reply outside them, and auto-close of idle
 * conversations. Admins edit; everyone else reads.
 */
export default function ServiceSettingsPage({ canWrite }: { canWrite: boolean }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const errorText = useErrorText();
  const q = useQuery({ queryKey: ['service-settings'], queryFn: routing.serviceSettings });
  const [form, setForm] = useState<ServiceSettings | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (q.data && !form) setForm(q.data);
  }, [q.data, form]);
  const save = useMutation({
    mutationFn: (body: ServiceSettings) => routing.saveServiceSettings(body),
    onMutate: () => { setErrors({}); setFormError(null); setSaved(false); },
    onSuccess: (out) => {
      qc.setQueryData(['service-settings'], out);
      setForm(out);
      setSaved(true);
    },
    onError: (err) => {
      const fe = err instanceof ApiError ? translateFieldErrors(err.fieldErrors) : {};
      setErrors(fe);
      const other = Object.keys(fe).filter((k) => !shownHere(k));
      if (!Object.keys(fe).length) setFormError(err);
      else if (other.length) setFormError(new ApiError(400, 'field_errors', other.map((k) => `${k}: ${fe[k]}`).join('; ')));
    },
  });

  if (q.isPending || (q.isSuccess && !form)) return <Card className="space-y-3 p-5"><Skeleton className="h-5 w-1/3" /><Skeleton className="h-4 w-2/3" /><Skeleton className="h-40 w-full" /></Card>;
  if (q.isError) return <Card><ErrorState error={q.error} onRetry={() => q.refetch()} /></Card>;
  const f = form!;
  const disabled = !canWrite;
  const set = (next: Partial<ServiceSettings>) => { setForm({ ...f, ...next }); setSaved(false); };
  const hours = f.business_hours;

  return (
    <form className="space-y-4" onSubmit={(e) => { e.preventDefault(); if (canWrite) save.mutate(f); }} data-testid="service-settings">
      {!canWrite && <Alert kind="info">{t('service.read_only')}</Alert>}
      {formError != null && <Alert>{errorText(formError)}</Alert>}
      <Card className="space-y-4 p-5">
        <div>
          <h2 className="text-base font-semibold text-gray-900">{t('service.title')}</h2>
          <p className="text-sm text-gray-500">{t('service.description')}</p>
        </div>
        <Switch id="service-always-open" checked={hours === null} disabled={disabled} label={t('service.always_open')} hint={t('service.always_open_hint')}
          onChange={(on) => set({ business_hours: on ? null : defaultBusinessHours() })} />
        {hours && <BusinessHoursEditor value={hours} onChange={(v) => set({ business_hours: v })} errors={errors} disabled={disabled} idPrefix="company-hours" />}
      </Card>
      <Card className="space-y-4 p-5">
        <h2 className="text-base font-semibold text-gray-900">{t('service.outside_title')}</h2>
        <div>
          <Switch id="service-outside-enabled" checked={f.outside_hours_reply.enabled} disabled={disabled}
            label={t('service.outside_enabled')} hint={hours ? t('service.outside_hint') : t('service.outside_needs_hours')}
            onChange={(on) => set({ outside_hours_reply: { ...f.outside_hours_reply, enabled: on } })} />
          {errors['outside_hours_reply.enabled'] && <p className="mt-1 text-xs text-red-600" role="alert" data-field-error="outside_hours_reply.enabled">{errors['outside_hours_reply.enabled']}</p>}
        </div>
        <Field label={t('service.outside_text')} htmlFor="service-outside-text" error={errors['outside_hours_reply.text']} hint={t('service.outside_text_hint')}>
          <Textarea id="service-outside-text" value={f.outside_hours_reply.text} disabled={disabled || !f.outside_hours_reply.enabled} invalid={!!errors['outside_hours_reply.text']}
            placeholder={t('service.outside_default')} onChange={(e) => set({ outside_hours_reply: { ...f.outside_hours_reply, text: e.target.value } })} />
        </Field>
      </Card>
      <Card className="space-y-4 p-5">
        <h2 className="text-base font-semibold text-gray-900">{t('service.auto_close_title')}</h2>
        <Field label={t('service.idle_hours')} htmlFor="service-idle-hours" error={errors['auto_close.idle_hours']} hint={t('service.idle_hours_hint')}>
          <Input id="service-idle-hours" type="number" min={0} max={2160} className="max-w-[8rem]" value={f.auto_close.idle_hours} disabled={disabled} invalid={!!errors['auto_close.idle_hours']}
            onChange={(e) => set({ auto_close: { ...f.auto_close, idle_hours: e.target.value === '' ? 0 : Number(e.target.value) } })} />
        </Field>
        <Field label={t('service.close_message')} htmlFor="service-close-message" error={errors['auto_close.message']} hint={t('service.close_message_hint')}>
          <Textarea id="service-close-message" value={f.auto_close.message} disabled={disabled || f.auto_close.idle_hours <= 0} invalid={!!errors['auto_close.message']}
            placeholder={t('service.close_message_placeholder')} onChange={(e) => set({ auto_close: { ...f.auto_close, message: e.target.value } })} />
        </Field>
      </Card>
      {canWrite && (
        <div className="flex items-center justify-end gap-3">
          {saved && <span className="text-sm text-emerald-700" role="status">{t('service.saved')}</span>}
          <Button type="submit" loading={save.isPending} data-testid="service-save">{t('common.save')}</Button>
        </div>
      )}
    </form>
  );
}
