import clsx from 'clsx';
import { Timer } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import { shortMinutes, slaLeft, slaUrgent } from '../lib/sla';
import { useNow } from '../lib/useNow';

/** The first-response SLA left on a conversation ("SLA 12 min"), red "SLA estourado" once past due; nothing without a due time. */
export function SlaBadge({ dueAt, now: fixedNow, className }: { dueAt?: string | null; now?: number; className?: string }) {
  const { t } = useTranslation();
  const ticking = useNow(15_000);
  const left = slaLeft(dueAt, fixedNow ?? ticking);
  if (!left) return null;
  return (
    <span data-testid="sla-badge" title={t('sla.title')}
      className={clsx('inline-flex shrink-0 items-center gap-0.5 rounded-full px-1.5 py-0.5 text-[11px] font-medium',
        left.late ? 'bg-red-100 text-red-700' : slaUrgent(left) ? 'bg-amber-100 text-amber-800' : 'bg-gray-100 text-gray-600', className)}>
      <Timer className="h-3 w-3" aria-hidden />
      {left.late ? t('sla.late') : t('sla.left', { time: shortMinutes(left.minutes) })}
    </span>
  );
}
