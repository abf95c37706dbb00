import { useQuery } from '@tanstack/react-query';
import { tenant } from '../api/endpoints';
import { isPlatform, useAuth } from '../store/auth';

/**
 * Whether the company's plan has the agenda (GET /api/v1/tenant features.agenda), for every tenant user
 * (the same query as the Kanban's entry: agents included).
 */
export function useAgendaEnabled(): boolean {
  const user = useAuth((s) => s.user);
  const q = useQuery({
    queryKey: ['tenant', 'features'],
    queryFn: tenant.get,
    enabled: !!user?.tenant_id && !isPlatform(user?.role),
    retry: false,
    staleTime: 60_000,
  });
  return q.data?.plan?.features?.agenda === true;
}
