import { lazy, Suspense, useEffect, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, Route, Routes, useLocation } from 'react-router';
import { api } from './api';
import { Shell } from './components/Shell';
import { SkeletonRows } from './components/ui';
import { homePath } from './lib/routes';
import LoginPage from './pages/Login';
import NotFound from './pages/NotFound';
import { isPlatform, isSupervisorOrUp, useAuth } from './store/auth';
import type { Role } from './api/types';

const Inbox = lazy(() => import('./pages/Inbox'));
const Contacts = lazy(() => import('./pages/Contacts'));
const Settings = lazy(() => import('./pages/settings/Settings'));
const Platform = lazy(() => import('./pages/platform/Platform'));
const BotFlows = lazy(() => import('./pages/bots/BotFlows'));
const FlowBuilder = lazy(() => import('./pages/bots/FlowBuilder'));
const Campaigns = lazy(() => import('./pages/campaigns/Campaigns'));
const CampaignDetail = lazy(() => import('./pages/campaigns/CampaignDetail'));
const Kanban = lazy(() => import('./pages/kanban/Kanban'));
const Agenda = lazy(() => import('./pages/agenda/Agenda'));
const ForgotPassword = lazy(() => import('./pages/password/ForgotPassword'));
const ResetPassword = lazy(() => import('./pages/password/ResetPassword'));
const ChangePassword = lazy(() => import('./pages/password/ChangePassword'));

/** Restores the session once, on start, from the refresh cookie (when the browser has one). */
function useRestoreSession() {
  const restoring = useAuth((s) => s.restoring);
  useEffect(() => {
    if (!restoring) return;
    let cancelled = false;
    api.refresh().finally(() => {
      if (!cancelled) useAuth.getState().setRestoring(false);
    });
    return () => {
      cancelled = true;
    };
  }, [restoring]);
  return restoring;
}

function FullPageLoading() {
  const { t } = useTranslation();
  return (
    <div className="flex h-screen items-center justify-center bg-chat-panel" role="status">
      <div className="flex flex-col items-center gap-3 text-gray-500">
        <div className="h-10 w-10 animate-spin rounded-full border-4 border-brand-100 border-t-brand-500" aria-hidden />
        <span className="text-sm">{t('common.loading')}</span>
      </div>
    </div>
  );
}

function RequireAuth({ children, allow }: { children: ReactNode; allow?: (role: Role) => boolean }) {
  const user = useAuth((s) => s.user);
  const location = useLocation();
  if (!user) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  if (allow && !allow(user.role)) return <Navigate to={homePath(user.role)} replace />;
  return <>{children}</>;
}

const tenantUser = (r: Role) => !isPlatform(r);

export default function App() {
  const restoring = useRestoreSession();
  const user = useAuth((s) => s.user);
  if (restoring) return <FullPageLoading />;
  return (
    <Suspense fallback={<FullPageLoading />}>
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route path="/esqueci-senha" element={<ForgotPassword />} />
        <Route path="/redefinir-senha" element={<ResetPassword />} />
        <Route element={<RequireAuth><Shell /></RequireAuth>}>
          <Route index element={<Navigate to={homePath(user?.role)} replace />} />
          <Route path="inbox" element={<RequireAuth allow={tenantUser}><Suspense fallback={<SkeletonRows />}><Inbox /></Suspense></RequireAuth>} />
          <Route path="inbox/:conversationId" element={<RequireAuth allow={tenantUser}><Suspense fallback={<SkeletonRows />}><Inbox /></Suspense></RequireAuth>} />
          <Route path="contacts" element={<RequireAuth allow={tenantUser}><Suspense fallback={<SkeletonRows />}><Contacts /></Suspense></RequireAuth>} />
          <Route path="bots" element={<RequireAuth allow={isSupervisorOrUp}><Suspense fallback={<SkeletonRows />}><BotFlows /></Suspense></RequireAuth>} />
          <Route path="campaigns" element={<RequireAuth allow={isSupervisorOrUp}><Suspense fallback={<SkeletonRows />}><Campaigns /></Suspense></RequireAuth>} />
          <Route path="campaigns/:id" element={<RequireAuth allow={isSupervisorOrUp}><Suspense fallback={<SkeletonRows />}><CampaignDetail /></Suspense></RequireAuth>} />
          <Route path="bots/:id" element={<RequireAuth allow={isSupervisorOrUp}><Suspense fallback={<SkeletonRows />}><FlowBuilder /></Suspense></RequireAuth>} />
          <Route path="kanban" element={<RequireAuth allow={tenantUser}><Suspense fallback={<SkeletonRows />}><Kanban /></Suspense></RequireAuth>} />
          <Route path="agenda" element={<RequireAuth allow={tenantUser}><Suspense fallback={<SkeletonRows />}><Agenda /></Suspense></RequireAuth>} />
          <Route path="settings/*" element={<RequireAuth allow={tenantUser}><Suspense fallback={<SkeletonRows />}><Settings /></Suspense></RequireAuth>} />
          <Route path="platform/*" element={<RequireAuth allow={isPlatform}><Suspense fallback={<SkeletonRows />}><Platform /></Suspense></RequireAuth>} />
          <Route path="account/password" element={<Suspense fallback={<SkeletonRows />}><ChangePassword /></Suspense>} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </Suspense>
  );
}

export { isSupervisorOrUp };
