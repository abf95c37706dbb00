import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { CreditCard, Pencil, Plus } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { platform } from '../../api/endpoints';
import { FEATURE_KEYS, type Plan, type PlanFeatures, type PlanLimits } from '../../api/types';
import { FormError } from '../../components/FormError';
import { Badge, Button, Card, EmptyState, ErrorState, Field, Input, Modal, PageHeader, SkeletonRows, Textarea } from '../../components/ui';
import { formatMoney, formatNumber } from '../../lib/format';
import { useForm } from '../../lib/useForm';

const LIMITS: (keyof PlanLimits)[] = ['users', 'connections', 'contacts', 'monthly_conversations', 'monthly_campaigns'];

export default function Plans() {
  const { t } = useTranslation();
  const q = useQuery({ queryKey: ['plans'], queryFn: () => platform.plans.list() });
  const [editing, setEditing] = useState<Plan | 'new' | null>(null);
  return (
    <>
      <PageHeader title={t('platform.plans.title')} description={t('platform.plans.description')}
        actions={<Button onClick={() => setEditing('new')}><Plus className="h-4 w-4" aria-hidden /> {t('platform.plans.new')}</Button>} />
      {q.isPending ? (
        <Card><SkeletonRows rows={3} /></Card>
      ) : q.isError ? (
        <Card><ErrorState error={q.error} onRetry={() => q.refetch()} /></Card>
      ) : q.data.length === 0 ? (
        <Card><EmptyState icon={<CreditCard className="h-6 w-6" aria-hidden />} title={t('platform.plans.empty')} /></Card>
      ) : (
        <div className="grid gap-4 md:grid-cols-2 lg:grid-cols-3" data-testid="plans-list">
          {q.data.map((p) => (
            <Card key={p.id} className="flex flex-col p-5">
              <div className="flex items-start justify-between">
                <div>
                  <h2 className="text-lg font-semibold text-gray-900">{p.name} {p.retired && <Badge>{t('platform.plans.retired')}</Badge>}</h2>
                  <p className="text-sm text-gray-500">{t('plan.per_month', { price: formatMoney(p.monthly_price) })}</p>
                </div>
                <Button variant="ghost" size="sm" onClick={() => setEditing(p)} aria-label={t('common.edit_item', { name: p.name })}><Pencil className="h-4 w-4" aria-hidden /></Button>
              </div>
              {p.description && <p className="mt-2 text-sm text-gray-600">{p.description}</p>}
              <dl className="mt-4 space-y-1 text-sm">
                {LIMITS.filter((k) => p.limits?.[k] !== undefined).map((k) => (
                  <div key={k} className="flex justify-between"><dt className="text-gray-500">{t(`plan.limits.${k}`)}</dt><dd className="tabular-nums">{p.limits[k] === null ? t('plan.unlimited') : formatNumber(p.limits[k])}</dd></div>
                ))}
                {p.tenants !== undefined && <div className="flex justify-between border-t border-gray-100 pt-1"><dt className="text-gray-500">{t('platform.plans.tenants')}</dt><dd className="tabular-nums">{formatNumber(p.tenants)}</dd></div>}
              </dl>
              <div className="mt-4 flex flex-wrap gap-1">
                {FEATURE_KEYS.filter((k) => p.features?.[k]).map((k) => <Badge key={k} color="#00a884">{t(`plan.features.${k}`)}</Badge>)}
              </div>
            </Card>
          ))}
        </div>
      )}
      {editing && <PlanForm plan={editing === 'new' ? null : editing} onClose={() => setEditing(null)} />}
    </>
  );
}

function PlanForm({ plan, onClose }: { plan: Plan | null; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const f = useForm({
    name: plan?.name ?? '', description: plan?.description ?? '', monthly_price: String(plan?.monthly_price ?? '0'),
    limits: { users: 5, connections: 1, contacts: 1000, monthly_conversations: 1000, monthly_campaigns: 0, ...(plan?.limits ?? {}) } as PlanLimits,
    features: { chatbot: false, campaigns: false, kanban: false, agenda: false, reports: false, api: false, instagram: false, messenger: false, ...(plan?.features ?? {}) } as PlanFeatures,
  });
  const save = useMutation({
    mutationFn: () => (plan ? platform.plans.update(plan.id, f.values) : platform.plans.create(f.values)),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['plans'] });
      onClose();
    },
    onError: f.fail,
  });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={plan ? t('platform.plans.edit') : t('platform.plans.new')} wide>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-4">
        <FormError error={f.formError} />
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label={t('platform.plans.name')} htmlFor="plan-name" error={f.errors.name}>
            <Input id="plan-name" value={f.values.name} onChange={(e) => f.set('name', e.target.value)} invalid={!!f.errors.name} required autoFocus />
          </Field>
          <Field label={t('platform.plans.price')} htmlFor="plan-price" error={f.errors.monthly_price}>
            <Input id="plan-price" inputMode="decimal" value={f.values.monthly_price} onChange={(e) => f.set('monthly_price', e.target.value.replace(',', '.'))} invalid={!!f.errors.monthly_price} />
          </Field>
        </div>
        <Field label={t('platform.plans.description_label')} htmlFor="plan-description" error={f.errors.description}>
          <Textarea id="plan-description" value={f.values.description} onChange={(e) => f.set('description', e.target.value)} />
        </Field>
        <fieldset>
          <legend className="mb-2 text-sm font-medium text-gray-700">{t('platform.plans.limits')}</legend>
          <div className="grid gap-3 sm:grid-cols-3">
            {LIMITS.map((k) => (
              <Field key={k} label={t(`plan.limits.${k}`)} htmlFor={`limit-${k}`} error={f.errors[`limits.${k}`]}>
                <Input id={`limit-${k}`} type="number" min={0} placeholder={t('plan.unlimited')} value={f.values.limits[k] ?? ''}
                  onChange={(e) => f.set('limits', { ...f.values.limits, [k]: e.target.value === '' ? null : Number(e.target.value) })} />
              </Field>
            ))}
          </div>
        </fieldset>
        <fieldset>
          <legend className="mb-2 text-sm font-medium text-gray-700">{t('plan.features_title')}</legend>
          <div className="grid grid-cols-2 gap-2 sm:grid-cols-4">
            {FEATURE_KEYS.map((k) => (
              <label key={k} className="flex items-center gap-2 text-sm">
                <input type="checkbox" className="h-4 w-4 accent-brand-500" checked={f.values.features[k]} onChange={(e) => f.set('features', { ...f.values.features, [k]: e.target.checked })} />
                {t(`plan.features.${k}`)}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending}>{t('common.save')}</Button>
        </div>
      </form>
    </Modal>
  );
}
