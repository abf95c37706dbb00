import { render, screen } from '@testing-library/react';
import { act } from 'react';
import { describe, expect, it } from 'vitest';
import type { TenantInfo } from '../api/types';
import { useRealtime } from '../store/realtime';
import { LicenseBanner, licenseWarning } from './LicenseBanner';
import { ConnectionBanner } from './Shell';

const info = (over: Partial<TenantInfo>): TenantInfo => ({
  id: 't', name: 'Loja', plan: null, usage: {}, license: { enforced: true, valid: true }, warning: false, warnings: [], ...over,
});

describe('ConnectionBanner', () => {
  it('shows only after a socket that was open is lost', () => {
    render(<ConnectionBanner />);
    act(() => useRealtime.getState().setStatus('reconnecting'));
    expect(screen.queryByTestId('connection-lost')).toBeNull(); // never connected: the route may not exist yet
    act(() => useRealtime.getState().setStatus('open'));
    expect(screen.queryByTestId('connection-lost')).toBeNull();
    act(() => useRealtime.getState().setStatus('reconnecting'));
    expect(screen.getByTestId('connection-lost').textContent).toContain('Conexão perdida');
    act(() => useRealtime.getState().setStatus('open'));
    expect(screen.queryByTestId('connection-lost')).toBeNull();
  });
});

describe('LicenseBanner', () => {
  it('stays hidden when all is well or licenses are not enforced', () => {
    expect(licenseWarning(info({}))).toBe(false);
    expect(licenseWarning(info({ license: { enforced: false, valid: false } }))).toBe(false);
  });

  it('translates the server warning codes', () => {
    render(<LicenseBanner info={info({ warning: true, license: { enforced: true, valid: true, in_grace: true, warning: true, grace_ends_at: '2026-12-05T12:00:00Z' },
      warnings: [{ code: 'license_grace', message: 'the license expired' }, { code: 'conversations_80', message: '80%' }] })} />);
    const text = screen.getByTestId('license-banner').textContent!;
    expect(text).toContain('período de tolerância até 05/12/2026');
    expect(text).toContain('80% das conversas');
  });

  it('says why an enforced license is invalid', () => {
    render(<LicenseBanner info={info({ license: { enforced: true, valid: false, reason: 'revoked' } })} />);
    expect(screen.getByTestId('license-banner').textContent).toContain('A licença desta empresa não é válida. Ela foi revogada.');
  });
});
