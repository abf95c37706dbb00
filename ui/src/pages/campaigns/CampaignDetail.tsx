import { useInfiniteQuery, useMutation, useQuery } from '@tanstack/react-query';
import { ArrowLeft, Download } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { campaigns, download } from '../../api/endpoints';
import type { Campaign, CampaignActivity, CampaignRecipient } from '../../api/types';
import { FormError } from '../../components/FormError';
import { PageBody } from '../../components/Shell';
import { Alert, Button, Card, ErrorState, LoadMore, PageHeader, Select, SkeletonRows, Table, Td, Th } from '../../components/ui';
import { formatDateTime, formatNumber, formatPhone } from '../../lib/format';
import { CampaignWizard } from './CampaignWizard';
import { Progress, StatusBadge, actionsFor, useCampaignActions } from './Campaigns';

const RECIPIENT_STATUSES = ['pending', 'sent', 'delivered', 'read', 'failed', 'skipped'];

/** A recipient's error in words: why it was skipped, or the provider's message. */
export function RecipientReason({ r }: { r: CampaignRecipient }) {
  const { t } = useTranslation();
  if (!r.error) return null;
  if (r.error.reason) return <>{t(`campaigns.reasons.${r.error.reason}`, { defaultValue: r.error.reason })}</>;
  return <>{[r.error.code, r.error.message].filter((x) => x != null && x !== '' && x !== 0).join(': ')}</>;
}

/** Sends, deliveries and reads per minute, as bars. */
export function ActivityChart({ activity }: { activity?: CampaignActivity }) {
  const { t } = useTranslation();
  const points = activity?.points ?? [];
  if (points.length === 0) return <p className="p-4 text-sm text-gray-500">{t('campaigns.no_activity')}</p>;
  const top = Math.max(1, ...points.map((p) => Math.max(p.sent, p.delivered, p.read, p.failed)));
  const w = 100 / points.length;
  const series: [keyof CampaignActivity['points'][number], string][] = [['sent', '#00a884'], ['delivered', '#0ea5e9'], ['read', '#6366f1'], ['failed', '#dc2626']];
  return (
    <figure className="p-3" data-testid="campaign-chart">
      <svg viewBox="0 0 100 40" preserveAspectRatio="none" className="h-40 w-full" role="img" aria-label={t('campaigns.chart_label')}>
        {points.map((p, i) => series.map(([k, color], j) => {
          const v = p[k] as number;
          const h = (v / top) * 38;
          return <rect key={`${i}-${k}`} x={i * w + (j * w) / 4} y={40 - h} width={w / 4} height={h} fill={color}><title>{`${formatDateTime(p.at)} · ${t(`campaigns.stats.${k}`)}: ${v}`}</title></rect>;
        }))}
      </svg>
      <figcaption className="mt-1 flex flex-wrap gap-3 text-xs text-gray-600">
        {series.map(([k, color]) => <span key={k} className="inline-flex items-center gap-1"><span className="h-2 w-2 rounded-sm" style={{ backgroundColor: color }} />{t(`campaigns.stats.${k}`)}</span>)}
        <span className="ml-auto">{formatDateTime(points[0].at)} – {formatDateTime(points[points.length - 1].at)}</span>
      </figcaption>
    </figure>
  );
}

function StatCards({ c }: { c: Campaign }) {
  const { t } = useTranslation();
  const s = c.stats;
  const pct = (n: number) => (s.total ? `${Math.round((n / s.total) * 100)}%` : '—');
  // delivered counts those delivered or read; sent those sent or beyond
  const cards: [string, number][] = [['total', s.total], ['sent', s.sent + s.delivered + s.read], ['delivered', s.delivered + s.read], ['read', s.read],
    ['failed', s.failed], ['skipped', s.skipped], ['pending', s.pending]];
  return (
    <div className="grid grid-cols-2 gap-2 sm:grid-cols-4 lg:grid-cols-7">
      {cards.map(([k, n]) => (
        <Card key={k} className="p-3" data-testid={`stat-${k}`}>
          <p className="text-xs text-gray-500">{t(`campaigns.stats.${k}`)}</p>
          <p className="text-xl font-semibold tabular-nums">{formatNumber(n)}</p>
          {k !== 'total' && <p className="text-xs text-gray-500">{pct(n)}</p>}
        </Card>
      ))}
    </div>
  );
}

export default function CampaignDetail() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const [status, setStatus] = useState('');
  const [editing, setEditing] = useState(false);
  const { act, dialog } = useCampaignActions();
  // Frames move it live; a slow poll covers a socket that is down, and the last sends' answers.
  const q = useQuery({ queryKey: ['campaign', id], queryFn: () => campaigns.get(id),
    refetchInterval: (query) => (query.state.data && (query.state.data.status === 'running' || query.state.data.stats.pending > 0) ? 5000 : false) });
  const running = q.data?.status === 'running';
  const activity = useQuery({ queryKey: ['campaign-activity', id], queryFn: () => campaigns.activity(id), enabled: !!q.data && q.data.status !== 'draft',
    refetchInterval: running ? 5000 : false });
  const recipients = useInfiniteQuery({
    queryKey: ['campaign-recipients', id, status],
    queryFn: ({ pageParam }) => campaigns.recipients(id, { status: status || undefined, cursor: pageParam, limit: 50 }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.next_cursor ?? undefined,
    enabled: !!q.data && q.data.status !== 'draft' && q.data.status !== 'scheduled',
    refetchInterval: running ? 10_000 : false,
  });
  const exportCsv = useMutation({ mutationFn: async () => download(await campaigns.recipientsCsv(id, { status: status || undefined }), `campanha-${id}.csv`) });

  if (q.isPending) return <PageBody><SkeletonRows rows={6} /></PageBody>;
  if (q.isError) return <PageBody><ErrorState error={q.error} onRetry={() => q.refetch()} /></PageBody>;
  const c = q.data;
  const rows = recipients.data?.pages.flatMap((p) => p.items ?? []) ?? [];
  return (
    <PageBody>
      <div className="mx-auto max-w-6xl space-y-4">
        <Link to="/campaigns" className="inline-flex items-center gap-1 text-sm text-brand-700 hover:underline"><ArrowLeft className="h-4 w-4" aria-hidden /> {t('campaigns.title')}</Link>
        <PageHeader title={c.name} description={<span className="inline-flex items-center gap-2"><StatusBadge status={c.status} /> {t('campaigns.rate', { rate: formatNumber(c.rate_per_minute) })}</span>}
          actions={<>{actionsFor(c.status).map((a) => a === 'edit'
            ? <Button key={a} variant="outline" onClick={() => setEditing(true)}>{t('campaigns.actions.edit')}</Button>
            : <Button key={a} variant={a === 'delete' || a === 'cancel' ? 'danger' : 'primary'} loading={act.isPending && act.variables?.action === a}
              onClick={() => act.mutate({ c, action: a })} data-testid={`campaign-${a}`}>{t(`campaigns.actions.${a}`)}</Button>)}</>} />
        <FormError error={act.error} />
        {c.error && <Alert kind="error">{c.error.message}</Alert>}
        <Card className="p-4">
          <Progress campaign={c} big />
          <p className="mt-2 text-xs text-gray-600">
            {c.status === 'scheduled' && c.scheduled_at ? t('campaigns.scheduled_for', { at: formatDateTime(c.scheduled_at) }) : null}
            {c.started_at ? t('campaigns.started_at', { at: formatDateTime(c.started_at) }) : null}
            {c.estimated_finish_at ? ` · ${t('campaigns.finish_estimate', { at: formatDateTime(c.estimated_finish_at) })}` : null}
            {c.finished_at ? ` · ${t('campaigns.finished_at', { at: formatDateTime(c.finished_at) })}` : null}
          </p>
        </Card>
        <StatCards c={c} />
        <Card>
          <h2 className="border-b border-gray-100 px-4 py-2 text-sm font-semibold">{t('campaigns.chart_title')}</h2>
          <ActivityChart activity={activity.data} />
        </Card>
        <Card>
          <div className="flex flex-wrap items-center gap-2 border-b border-gray-100 px-4 py-2">
            <h2 className="text-sm font-semibold">{t('campaigns.recipients')}</h2>
            <Select className="ml-auto w-44" value={status} onChange={(e) => setStatus(e.target.value)} aria-label={t('campaigns.filter_status')} data-testid="recipient-filter">
              <option value="">{t('campaigns.all')}</option>
              {RECIPIENT_STATUSES.map((s) => <option key={s} value={s}>{t(`campaigns.recipient_status.${s}`)}</option>)}
            </Select>
            <Button variant="outline" size="sm" loading={exportCsv.isPending} onClick={() => exportCsv.mutate()}><Download className="h-4 w-4" aria-hidden /> {t('campaigns.export_csv')}</Button>
          </div>
          <FormError error={exportCsv.error} />
          {c.status === 'draft' || c.status === 'scheduled' ? <p className="p-4 text-sm text-gray-500">{t('campaigns.recipients_later')}</p>
            : recipients.isPending ? <SkeletonRows rows={4} /> : recipients.isError ? <ErrorState error={recipients.error} onRetry={() => recipients.refetch()} /> : (
              <div className="overflow-x-auto">
                <Table>
                  <thead><tr><Th>#</Th><Th>{t('campaigns.contact')}</Th><Th>{t('campaigns.status_label')}</Th><Th>{t('campaigns.detail')}</Th><Th>{t('campaigns.sent_at')}</Th></tr></thead>
                  <tbody data-testid="campaign-recipients">
                    {rows.map((r) => (
                      <tr key={r.contact_id}>
                        <Td className="tabular-nums text-gray-500">{r.position}</Td>
                        <Td>{r.conversation_id ? <Link className="text-brand-700 hover:underline" to={`/inbox/${r.conversation_id}`}>{r.contact_name || formatPhone(r.phone)}</Link> : (r.contact_name || formatPhone(r.phone))}
                          <p className="text-xs text-gray-500">{formatPhone(r.phone)}</p></Td>
                        <Td>{t(`campaigns.recipient_status.${r.status}`, { defaultValue: r.status })}</Td>
                        <Td className="text-xs text-gray-600"><RecipientReason r={r} /></Td>
                        <Td className="whitespace-nowrap text-xs text-gray-600">{formatDateTime(r.read_at ?? r.delivered_at ?? r.sent_at)}</Td>
                      </tr>
                    ))}
                  </tbody>
                </Table>
                <LoadMore hasMore={!!recipients.hasNextPage} loading={recipients.isFetchingNextPage} onClick={() => recipients.fetchNextPage()} />
              </div>
            )}
        </Card>
        {editing && <CampaignWizard campaign={c} onClose={() => setEditing(false)} onSaved={() => setEditing(false)} />}
        {dialog}
      </div>
    </PageBody>
  );
}
