import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { CircleCheck, RotateCcw } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import { inbox } from '../../api/endpoints';
import type { DeadLetter } from '../../api/types';
import { FormError } from '../../components/FormError';
import { Alert, Badge, Button, Card, EmptyState, ErrorState, LoadMore, SkeletonRows, Table, Td, Th } from '../../components/ui';
import { formatDateTime } from '../../lib/format';

/** The inbox events that failed processing for good (dead letters), for an admin to retry once the cause is fixed. */
export default function FailedEventsSettings() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const list = useInfiniteQuery({
    queryKey: ['dead-letters'],
    queryFn: ({ pageParam }) => inbox.deadLetters({ cursor: pageParam, limit: 50 }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const retry = useMutation({
    mutationFn: (id: string) => inbox.retry(id),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['dead-letters'] }),
  });
  const items = list.data?.pages.flatMap((p) => p.items ?? []) ?? [];
  const kind = (d: DeadLetter) => t(`failed_events.kinds.${d.kind}`, { defaultValue: d.kind });

  return (
    <Card>
      <div className="border-b border-gray-100 p-4">
        <h2 className="font-semibold text-gray-900">{t('failed_events.title')}</h2>
        <p className="text-sm text-gray-500">{t('failed_events.description')}</p>
      </div>
      {retry.isSuccess && <Alert kind="success" className="m-4">{t('failed_events.retried')}</Alert>}
      {retry.isError && <div className="m-4"><FormError error={retry.error} /></div>}
      {list.isPending ? (
        <SkeletonRows rows={4} />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => list.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState icon={<CircleCheck className="h-6 w-6" aria-hidden />} title={t('failed_events.empty')} description={t('failed_events.empty_hint')} />
      ) : (
        <>
          <Table>
            <thead>
              <tr>
                <Th>{t('failed_events.received')}</Th>
                <Th>{t('failed_events.contact')}</Th>
                <Th>{t('failed_events.event')}</Th>
                <Th>{t('failed_events.error')}</Th>
                <Th className="text-right">{t('failed_events.attempts')}</Th>
                <Th className="text-right">{t('common.actions')}</Th>
              </tr>
            </thead>
            <tbody data-testid="dead-letters">
              {items.map((d) => (
                <tr key={d.id}>
                  <Td className="whitespace-nowrap text-gray-500">{formatDateTime(d.received_at)}</Td>
                  <Td>{d.contact || '—'}</Td>
                  <Td>
                    <Badge>{kind(d)}</Badge> <span className="text-gray-700">{d.preview}</span>
                  </Td>
                  <Td><span className="line-clamp-2 break-all font-mono text-xs text-red-700" title={d.last_error}>{d.last_error}</span></Td>
                  <Td className="text-right tabular-nums">{d.attempts}</Td>
                  <Td className="text-right">
                    <Button variant="outline" size="sm" loading={retry.isPending && retry.variables === d.id} onClick={() => retry.mutate(d.id)}
                      aria-label={t('failed_events.retry_item', { name: d.contact || d.dedupe_key })}>
                      <RotateCcw className="h-4 w-4" aria-hidden /> {t('failed_events.retry')}
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
