import type { Role } from '../api/types';

/** Where a user lands after signing in. */
export function homePath(role?: Role | null): string {
  return role === 'SUPER_ADMIN' ? '/platform' : '/inbox';
}
