import { useQuery } from '@tanstack/react-query';
import { tenant } from '../api/endpoints';
import { isPlatform, useAuth } from '../store/auth';

/**
 * Whether the company's plan has the Kanban (GET /api/v1/tenant features.kanban), for every tenant user
 * (agents included: the shell's own tenant query is supervisors' only).
 */
export function useKanbanEnabled(): boolean {
  const user = useAuth((s) => s.user);
  const q = useQuery({
    queryKey: ['tenant', 'features'],
    queryFn: tenant.get,
    enabled: !!user?.tenant_id && !isPlatform(user?.role),
    retry: false,
    staleTime: 60_000,
  });
  return q.data?.plan?.features?.kanban === true;
}
