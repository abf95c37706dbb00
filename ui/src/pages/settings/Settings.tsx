import clsx from 'clsx';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, NavLink, Route, Routes, useLocation } from 'react-router';
import { PageBody } from '../../components/Shell';
import { PageHeader } from '../../components/ui';
import { isAdmin, isSupervisorOrUp, useAuth } from '../../store/auth';
import ApiTokensSettings from './ApiTokens';
import ConnectionsSettings from './Connections';
import FailedEventsSettings from './FailedEvents';
import LabelsSettings from './Labels';
import PlanSettings from './Plan';
import QuickRepliesSettings from './QuickReplies';
import SandboxPhone from './SandboxPhone';
import SignatureSettings from './Signature';
import TeamsSettings from './Teams';
import UsersSettings from './Users';
import ServiceSettingsPage from './Service';
import WebhooksSettings from './Webhooks';

export default function Settings() {
  const { t } = useTranslation();
  const role = useAuth((s) => s.user?.role);
  const tabs = [
    { to: '/settings/users', label: t('settings.tabs.users'), show: isSupervisorOrUp(role) },
    { to: '/settings/teams', label: t('settings.tabs.teams'), show: isSupervisorOrUp(role) },
    { to: '/settings/connections', label: t('settings.tabs.connections'), show: isSupervisorOrUp(role) },
    { to: '/settings/labels', label: t('settings.tabs.labels'), show: true },
    { to: '/settings/quick-replies', label: t('settings.tabs.quick_replies'), show: true },
    { to: '/settings/signature', label: t('settings.tabs.signature'), show: true },
    { to: '/settings/plan', label: t('settings.tabs.plan'), show: isSupervisorOrUp(role) },
    { to: '/settings/failed-events', label: t('settings.tabs.failed_events'), show: isAdmin(role) },
    { to: '/settings/api-tokens', label: t('settings.tabs.api_tokens'), show: isAdmin(role) },
    { to: '/settings/service', label: t('service.tab'), show: true },
    { to: '/settings/webhooks', label: t('webhooks.tab'), show: isAdmin(role) },
  ].filter((x) => x.show);
  // On a phone the tabs scroll sideways: keep the open one in view (the last ones started off-screen).
  const nav = useRef<HTMLElement>(null);
  const { pathname } = useLocation();
  useEffect(() => {
    const active = nav.current?.querySelector<HTMLElement>('[aria-current="page"]');
    if (active && nav.current) nav.current.scrollLeft += active.getBoundingClientRect().left - nav.current.getBoundingClientRect().left - 16;
  }, [pathname]);
  return (
    <PageBody>
      <div className="mx-auto max-w-5xl">
        <PageHeader title={t('settings.title')} description={t('settings.description')} />
        <nav ref={nav} className="mb-4 flex gap-1 overflow-x-auto border-b border-gray-200" aria-label={t('settings.title')}>
          {tabs.map((tab) => (
            <NavLink
              key={tab.to}
              to={tab.to}
              className={({ isActive }) =>
                clsx(
                  '-mb-px whitespace-nowrap border-b-2 px-3 py-2 text-sm font-medium focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500',
                  isActive ? 'border-brand-500 text-brand-700' : 'border-transparent text-gray-500 hover:text-gray-800',
                )
              }
            >
              {tab.label}
            </NavLink>
          ))}
        </nav>
        <Routes>
          <Route index element={<Navigate to={tabs[0]?.to ?? '/settings/labels'} replace />} />
          <Route path="users" element={<UsersSettings canWrite={isAdmin(role)} />} />
          <Route path="teams" element={<TeamsSettings canWrite={isAdmin(role)} />} />
          <Route path="connections" element={<ConnectionsSettings canWrite={isAdmin(role)} />} />
          <Route path="connections/:id/phone" element={<SandboxPhone />} />
          <Route path="labels" element={<LabelsSettings canWrite={isSupervisorOrUp(role)} />} />
          <Route path="quick-replies" element={<QuickRepliesSettings canWrite={isAdmin(role)} />} />
          <Route path="signature" element={<SignatureSettings />} />
          <Route path="plan" element={<PlanSettings />} />
          <Route path="failed-events" element={<FailedEventsSettings />} />
          <Route path="api-tokens" element={<ApiTokensSettings />} />
          <Route path="service" element={<ServiceSettingsPage canWrite={isAdmin(role)} />} />
          <Route path="webhooks" element={<WebhooksSettings />} />
          <Route path="*" element={<Navigate to={tabs[0]?.to ?? '/settings/labels'} replace />} />
        </Routes>
      </div>
    </PageBody>
  );
}
