import { useMutation, useQuery } from '@tanstack/react-query';
import clsx from 'clsx';
import { useTranslation } from 'react-i18next';
import { routing } from '../api/endpoints';
import type { Availability } from '../api/types';
import { useAuth } from '../store/auth';
import { AVAILABILITIES, availabilityDot, useAvailability } from '../store/availability';

/** Every user's availability, loaded once per session into the store (then kept by user.availability frames). */
export function useAvailabilities(enabled = true) {
  const setAll = useAvailability((s) => s.setAll);
  return useQuery({
    queryKey: ['availability'],
    queryFn: async () => {
      const items = await routing.availability();
      setAll(items);
      return items;
    },
    enabled,
    retry: false,
    staleTime: 60_000,
  });
}

/** A coloured dot for a user's availability. */
export function AvailabilityDot({ availability, className }: { availability?: Availability; className?: string }) {
  const { t } = useTranslation();
  if (!availability) return null;
  return <span className={clsx('inline-block h-2.5 w-2.5 shrink-0 rounded-full', availabilityDot[availability], className)} title={t(`availability.${availability}`)} aria-label={t(`availability.${availability}`)} role="img" data-availability={availability} />;
}

/**
 * The agent's switch beside their name: Disponível (takes conversations),
 * Ausente or Offline. PUT /api/v1/auth/me/availability; the state comes
 * from the server and follows user.availability frames (another tab, or
 * offline when the last console closed).
 */
export function AvailabilitySwitch({ compact }: { compact?: boolean }) {
  const { t } = useTranslation();
  const me = useAuth((s) => s.user);
  const enabled = !!me?.tenant_id;
  useAvailabilities(enabled);
  const current = useAvailability((s) => (me ? s.byUser[me.id] : undefined));
  const set = useAvailability((s) => s.set);
  const change = useMutation({
    mutationFn: (a: Availability) => routing.setMyAvailability(a),
    onSuccess: (out) => set(out.user_id, out.availability),
  });
  if (!enabled || !me) return null;
  const value = current ?? 'offline';
  return (
    <div className="flex items-center gap-1.5" data-testid="availability-switch">
      <AvailabilityDot availability={value} />
      <select value={value} disabled={change.isPending} onChange={(e) => change.mutate(e.target.value as Availability)} aria-label={t('availability.label')}
        className={clsx('rounded-md border-0 bg-transparent py-0.5 pl-0 pr-6 text-xs text-gray-700 hover:bg-gray-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500', compact && 'max-w-[6.5rem]')}>
        {AVAILABILITIES.map((a) => <option key={a} value={a}>{t(`availability.${a}`)}</option>)}
      </select>
      {change.isError && <span className="sr-only" role="alert">{t('availability.failed')}</span>}
      {change.isError && <span className="text-xs text-red-600" aria-hidden>!</span>}
    </div>
  );
}
