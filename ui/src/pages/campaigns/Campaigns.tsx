import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Megaphone, Plus } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { ApiError } from '../../api/client';
import { campaigns } from '../../api/endpoints';
import type { Campaign, CampaignStatus } from '../../api/types';
import { useConfirm } from '../../components/ConfirmDialog';
import { FormError } from '../../components/FormError';
import { PageBody } from '../../components/Shell';
import { Badge, Button, Card, EmptyState, ErrorState, LoadMore, PageHeader, Select, SkeletonRows, Table, Td, Th } from '../../components/ui';
import { formatDateTime, formatNumber } from '../../lib/format';
import { CampaignWizard } from './CampaignWizard';

export const STATUSES: CampaignStatus[] = ['draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed'];
const COLORS: Record<CampaignStatus, string> = {
  draft: '#64748b', scheduled: '#0ea5e9', running: '#00a884', paused: '#d97706', completed: '#15803d', cancelled: '#6b7280', failed: '#dc2626',
};

export function StatusBadge({ status }: { status: CampaignStatus }) {
  const { t } = useTranslation();
  return <Badge color={COLORS[status]}><span data-testid="campaign-status" data-status={status}>{t(`campaigns.status.${status}`)}</span></Badge>;
}

/** How far a campaign is: the share of its recipients no longer pending. */
export function Progress({ campaign, big }: { campaign: Campaign; big?: boolean }) {
  const { t } = useTranslation();
  const pct = Math.round((campaign.progress ?? 0) * 100);
  const s = campaign.stats;
  const done = s.total - s.pending;
  return (
    <div className={big ? 'w-full' : 'w-40'}>
      <div className={`overflow-hidden rounded-full bg-gray-200 ${big ? 'h-3' : 'h-2'}`} role="progressbar" aria-valuemin={0} aria-valuemax={100}
        aria-valuenow={pct} aria-label={t('campaigns.progress')} data-testid="campaign-progress">
        <div className="h-full rounded-full bg-brand-600 transition-all" style={{ width: `${pct}%` }} />
      </div>
      <p className="mt-0.5 text-xs tabular-nums text-gray-500">{t('campaigns.progress_text', { pct, done: formatNumber(done), total: formatNumber(s.total) })}</p>
    </div>
  );
}

/** The actions a campaign's status allows. */
export function actionsFor(status: CampaignStatus): ('start' | 'pause' | 'resume' | 'cancel' | 'delete' | 'edit')[] {
  switch (status) {
    case 'draft': return ['edit', 'start', 'delete'];
    case 'scheduled': return ['edit', 'cancel', 'delete'];
    case 'running': return ['pause', 'cancel'];
    case 'paused': return ['resume', 'cancel'];
    default: return ['delete'];
  }
}

/** Runs a campaign action, asking first for the ones that cannot be undone. */
export function useCampaignActions() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [ask, dialog] = useConfirm();
  const act = useMutation({
    mutationFn: async ({ c, action }: { c: Campaign; action: 'start' | 'pause' | 'resume' | 'cancel' | 'delete' }) => {
      if (action === 'cancel' || action === 'delete' || action === 'start') {
        const ok = await ask({
          message: t(`campaigns.confirm.${action}`, { name: c.name }),
          confirmLabel: t(`campaigns.actions.${action}`),
          danger: action !== 'start',
        });
        if (!ok) return null;
      }
      if (action === 'delete') {
        await campaigns.remove(c.id);
        return null;
      }
      return campaigns.act(c.id, action);
    },
    onSuccess: (updated) => {
      if (updated) qc.setQueryData(['campaign', updated.id], updated);
      void qc.invalidateQueries({ queryKey: ['campaigns'] });
    },
  });
  return { act, dialog };
}

export default function Campaigns() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [status, setStatus] = useState('');
  const [creating, setCreating] = useState(false);
  const { act, dialog } = useCampaignActions();
  const list = useInfiniteQuery({
    queryKey: ['campaigns', status],
    queryFn: ({ pageParam }) => campaigns.page({ status: status || undefined, cursor: pageParam, limit: 30 }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.next_cursor ?? undefined,
  });
  const items = list.data?.pages.flatMap((p) => p.items ?? []) ?? [];

  if (list.isError && list.error instanceof ApiError && list.error.status === 402) {
    return (
      <PageBody>
        <div className="mx-auto max-w-5xl">
          <PageHeader title={t('campaigns.title')} />
          <Card><EmptyState icon={<Megaphone className="h-6 w-6" aria-hidden />} title={t('campaigns.not_in_plan')} /></Card>
        </div>
      </PageBody>
    );
  }
  return (
    <PageBody>
      <div className="mx-auto max-w-6xl">
        <PageHeader title={t('campaigns.title')} description={t('campaigns.description')}
          actions={<Button onClick={() => setCreating(true)} data-testid="new-campaign"><Plus className="h-4 w-4" aria-hidden /> {t('campaigns.new')}</Button>} />
        <div className="mb-3 flex items-center gap-2">
          <label htmlFor="campaign-status-filter" className="text-sm text-gray-600">{t('campaigns.filter_status')}</label>
          <Select id="campaign-status-filter" className="w-48" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">{t('campaigns.all')}</option>
            {STATUSES.map((s) => <option key={s} value={s}>{t(`campaigns.status.${s}`)}</option>)}
          </Select>
        </div>
        <FormError error={act.error} />
        <Card>
          {list.isPending ? <SkeletonRows rows={4} /> : list.isError ? <ErrorState error={list.error} onRetry={() => list.refetch()} /> : items.length === 0 ? (
            <EmptyState icon={<Megaphone className="h-6 w-6" aria-hidden />} title={t('campaigns.empty')} description={t('campaigns.empty_hint')}
              action={<Button onClick={() => setCreating(true)}><Plus className="h-4 w-4" aria-hidden /> {t('campaigns.new')}</Button>} />
          ) : (
            <div className="overflow-x-auto">
              <Table>
                <thead>
                  <tr>
                    <Th>{t('campaigns.name')}</Th>
                    <Th>{t('campaigns.status_label')}</Th>
                    <Th>{t('campaigns.progress')}</Th>
                    <Th>{t('campaigns.when')}</Th>
                    <Th className="text-right">{t('common.actions')}</Th>
                  </tr>
                </thead>
                <tbody data-testid="campaigns">
                  {items.map((c) => (
                    <tr key={c.id} data-testid="campaign-row">
                      <Td><Link to={`/campaigns/${c.id}`} className="font-medium text-brand-700 hover:underline">{c.name}</Link>
                        <p className="text-xs text-gray-500">{t('campaigns.rate', { rate: formatNumber(c.rate_per_minute) })}</p></Td>
                      <Td><StatusBadge status={c.status} /></Td>
                      <Td><Progress campaign={c} /></Td>
                      <Td className="whitespace-nowrap text-xs text-gray-600">
                        {c.status === 'scheduled' && c.scheduled_at ? t('campaigns.scheduled_for', { at: formatDateTime(c.scheduled_at) })
                          : c.started_at ? t('campaigns.started_at', { at: formatDateTime(c.started_at) }) : t('campaigns.created_at', { at: formatDateTime(c.created_at) })}
                      </Td>
                      <Td className="whitespace-nowrap text-right">
                        {actionsFor(c.status).map((a) => a === 'edit'
                          ? <Button key={a} variant="ghost" size="sm" onClick={() => navigate(`/campaigns/${c.id}`)}>{t('campaigns.actions.open')}</Button>
                          : <Button key={a} variant={a === 'delete' || a === 'cancel' ? 'ghost' : 'outline'} size="sm" loading={act.isPending && act.variables?.c.id === c.id && act.variables.action === a}
                            onClick={() => act.mutate({ c, action: a })} aria-label={t(`campaigns.actions.${a}_item`, { name: c.name })}>{t(`campaigns.actions.${a}`)}</Button>)}
                      </Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
              <LoadMore hasMore={!!list.hasNextPage} loading={list.isFetchingNextPage} onClick={() => list.fetchNextPage()} />
            </div>
          )}
        </Card>
        {creating && <CampaignWizard onClose={() => setCreating(false)} onSaved={(c) => navigate(`/campaigns/${c.id}`)} />}
        {dialog}
      </div>
    </PageBody>
  );
}
