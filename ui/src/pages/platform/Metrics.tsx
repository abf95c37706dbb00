import { useQuery } from '@tanstack/react-query';
import { Building2, MessageSquare, MessagesSquare, Users } from 'lucide-react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { platform } from '../../api/endpoints';
import { Badge, Card, EmptyState, ErrorState, PageHeader, Skeleton, Table, Td, Th } from '../../components/ui';
import { formatDate, formatNumber } from '../../lib/format';

function ofLimit(used?: number, limit?: number | null): string {
  return limit === null || limit === undefined ? formatNumber(used) : `${formatNumber(used)} / ${formatNumber(limit)}`;
}

function Stat({ label, value, icon }: { label: string; value: ReactNode; icon: ReactNode }) {
  return (
    <Card className="flex items-center gap-4 p-4">
      <span className="rounded-full bg-brand-50 p-3 text-brand-600">{icon}</span>
      <div>
        <p className="text-sm text-gray-500">{label}</p>
        <p className="text-2xl font-semibold tabular-nums text-gray-900">{value}</p>
      </div>
    </Card>
  );
}

export default function Metrics() {
  const { t } = useTranslation();
  const q = useQuery({ queryKey: ['platform-metrics'], queryFn: platform.metrics, refetchInterval: 60_000 });
  const header = <PageHeader title={t('platform.metrics.title')} description={t('platform.metrics.description')} />;
  if (q.isPending) {
    return (
      <>
        {header}
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">{[0, 1, 2, 3].map((i) => <Card key={i} className="p-4"><Skeleton className="h-14 w-full" /></Card>)}</div>
        <Card className="mt-4 p-4"><Skeleton className="h-40 w-full" /></Card>
      </>
    );
  }
  if (q.isError) return <>{header}<Card><ErrorState error={q.error} onRetry={() => q.refetch()} /></Card></>;
  const m = q.data;
  const days = (m.messages_per_day ?? []).slice(-30).map((d) => ({ ...d, total: d.count ?? (d.inbound ?? 0) + (d.outbound ?? 0) }));
  const max = Math.max(1, ...days.map((d) => d.total));
  const totalMessages = days.reduce((a, d) => a + d.total, 0);
  const tenantsTotal = Object.values(m.tenants_by_status ?? {}).reduce((a, n) => a + n, 0);
  const usage = m.tenant_usage ?? [];
  return (
    <>
      {header}
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
        <Stat label={t('platform.metrics.tenants')} value={formatNumber(tenantsTotal)} icon={<Building2 className="h-5 w-5" aria-hidden />} />
        <Stat label={t('platform.metrics.users')} value={formatNumber(m.users)} icon={<Users className="h-5 w-5" aria-hidden />} />
        <Stat label={t('platform.metrics.conversations_month')} value={formatNumber(m.conversations_this_month)} icon={<MessagesSquare className="h-5 w-5" aria-hidden />} />
        <Stat label={t('platform.metrics.messages_30d')} value={formatNumber(totalMessages)} icon={<MessageSquare className="h-5 w-5" aria-hidden />} />
      </div>
      <Card className="mt-4 p-4">
        <h2 className="mb-3 font-semibold text-gray-900">{t('platform.metrics.messages_per_day')}</h2>
        {totalMessages === 0 ? (
          <EmptyState title={t('platform.metrics.no_messages')} />
        ) : (
          <div className="flex h-40 items-end gap-1" role="img" aria-label={t('platform.metrics.messages_per_day')}>
            {days.map((d) => (
              <div key={d.day} className="group relative flex-1" title={t('platform.metrics.day_tooltip', { date: formatDate(`${d.day}T12:00:00`), inbound: formatNumber(d.inbound), outbound: formatNumber(d.outbound) })}>
                <div className="w-full rounded-t bg-brand-500 group-hover:bg-brand-600" style={{ height: `${Math.max(2, (d.total / max) * 150)}px` }} />
              </div>
            ))}
          </div>
        )}
      </Card>
      <Card className="mt-4">
        <h2 className="border-b border-gray-100 p-4 font-semibold text-gray-900">{t('platform.metrics.usage_per_tenant')}</h2>
        {usage.length === 0 ? (
          <EmptyState title={t('platform.tenants.empty')} />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>{t('platform.tenants.name')}</Th>
                <Th className="text-right">{t('platform.metrics.users')}</Th>
                <Th className="text-right">{t('plan.limits.contacts')}</Th>
                <Th className="text-right">{t('platform.metrics.conversations_month')}</Th>
                <Th>{t('platform.tenants.plan')}</Th>
              </tr>
            </thead>
            <tbody>
              {usage.map((u) => (
                <tr key={u.tenant_id}>
                  <Td className="font-medium">{u.name}{u.status === 'suspended' && <span className="ml-2"><Badge color="#dc2626">{t('platform.tenants.suspended')}</Badge></span>}</Td>
                  <Td className="text-right tabular-nums">{ofLimit(u.usage?.users, u.limits?.users)}</Td>
                  <Td className="text-right tabular-nums">{ofLimit(u.usage?.contacts, u.limits?.contacts)}</Td>
                  <Td className="text-right tabular-nums">{ofLimit(u.usage?.monthly_conversations, u.limits?.monthly_conversations)}</Td>
                  <Td>{u.plan_name}{(u.exceeded ?? []).length > 0 && <span className="ml-2"><Badge color="#d97706">{t('platform.metrics.over_limit')}</Badge></span>}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </>
  );
}
