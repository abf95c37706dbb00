import { useQuery } from '@tanstack/react-query';
import clsx from 'clsx';
import { askNotifications, notificationsSupported } from '../lib/notify';
import { Bell, BarChart3, Bot, Megaphone, Building2, Contact as ContactIcon, CreditCard, KeyRound, LogOut, MessageCircle, Settings, WifiOff } from 'lucide-react';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, NavLink, Outlet, useNavigate } from 'react-router';
import { auth, tenant } from '../api/endpoints';
import { queryClient } from '../lib/queryClient';
import { isPlatform, isSupervisorOrUp, useAuth } from '../store/auth';
import { useRealtime } from '../store/realtime';
import { AvailabilitySwitch } from './AvailabilitySwitch';
import { LanguageSwitch } from './LanguageSwitch';
import { LicenseBanner } from './LicenseBanner';
import { RealtimeProvider } from './RealtimeProvider';
import { Avatar } from './ui';
import { useKanbanEnabled } from '../lib/kanbanNav';
import { KanbanSquare } from 'lucide-react';
import { useAgendaEnabled } from '../lib/agendaNav';
import { CalendarDays } from 'lucide-react';
import { AgendaToasts } from './AgendaToasts';

interface NavItem { to: string; label: string; icon: ReactNode; end?: boolean }

export function useNavItems(): NavItem[] {
  const { t } = useTranslation();
  const user = useAuth((s) => s.user);
  const role = user?.role;
  // the same query as the shell's license banner: the plan says whether the chatbot module is on
  const tenantQ = useQuery({ queryKey: ['tenant'], queryFn: tenant.get, enabled: !!user?.tenant_id && isSupervisorOrUp(role), retry: false, staleTime: 60_000 });
  const kanbanOn = useKanbanEnabled();
  const agendaOn = useAgendaEnabled();
  if (isPlatform(role)) {
    return [
      { to: '/platform', label: t('nav.metrics'), icon: <BarChart3 className="h-5 w-5" aria-hidden />, end: true },
      { to: '/platform/tenants', label: t('nav.tenants'), icon: <Building2 className="h-5 w-5" aria-hidden /> },
      { to: '/platform/plans', label: t('nav.plans'), icon: <CreditCard className="h-5 w-5" aria-hidden /> },
    ];
  }
  const items: NavItem[] = [
    { to: '/inbox', label: t('nav.inbox'), icon: <MessageCircle className="h-5 w-5" aria-hidden /> },
    { to: '/contacts', label: t('nav.contacts'), icon: <ContactIcon className="h-5 w-5" aria-hidden /> },
  ];
  if (isSupervisorOrUp(role) && tenantQ.data?.plan?.features?.chatbot === true) {
    items.push({ to: '/bots', label: t('nav.bots'), icon: <Bot className="h-5 w-5" aria-hidden /> });
  }
  if (isSupervisorOrUp(role) && tenantQ.data?.plan?.features?.campaigns === true) {
    items.push({ to: '/campaigns', label: t('nav.campaigns'), icon: <Megaphone className="h-5 w-5" aria-hidden /> });
  }
  if (kanbanOn) items.push({ to: '/kanban', label: t('kanban.title'), icon: <KanbanSquare className="h-5 w-5" aria-hidden /> });
  if (agendaOn) items.push({ to: '/agenda', label: t('agenda.title'), icon: <CalendarDays className="h-5 w-5" aria-hidden /> });
  items.push({ to: '/settings', label: t('nav.settings'), icon: <Settings className="h-5 w-5" aria-hidden /> });
  return items;
}

function NotificationsButton() {
  const { t } = useTranslation();
  const [state, setState] = useState(() => (notificationsSupported() ? Notification.permission : 'unsupported'));
  if (state !== 'default') return null;
  return (
    <button type="button" onClick={async () => { await askNotifications(); setState(Notification.permission); }}
      className="flex w-full items-center gap-2 rounded-lg px-2 py-1.5 text-left text-xs text-gray-600 hover:bg-gray-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500" data-testid="enable-notifications">
      <Bell className="h-4 w-4" aria-hidden /> {t('notify.enable')}
    </button>
  );
}

export function ConnectionBanner() {
  const { t } = useTranslation();
  const status = useRealtime((s) => s.status);
  const everOpen = useRealtime((s) => s.everOpen);
  if (!everOpen || status !== 'reconnecting') return null;
  return (
    <div role="status" data-testid="connection-lost" className="flex items-center justify-center gap-2 bg-amber-100 px-3 py-1.5 text-sm text-amber-900">
      <WifiOff className="h-4 w-4" aria-hidden /> {t('shell.connection_lost')}
    </div>
  );
}

export function Shell() {
  const { t } = useTranslation();
  const user = useAuth((s) => s.user);
  const navigate = useNavigate();
  const items = useNavItems();
  const tenantQ = useQuery({
    queryKey: ['tenant'],
    queryFn: tenant.get,
    enabled: !!user?.tenant_id && isSupervisorOrUp(user?.role),
    retry: false,
    staleTime: 60_000,
  });

  async function logout() {
    auth.logout().catch(() => undefined); // revokes and clears the refresh cookie
    useAuth.getState().clear();
    queryClient.clear();
    navigate('/login', { replace: true });
  }

  const navLink = (item: NavItem, mobile = false) => (
    <NavLink
      key={item.to}
      to={item.to}
      end={item.end}
      className={({ isActive }) =>
        clsx(
          'flex items-center rounded-lg text-sm font-medium transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500',
          mobile ? 'flex-1 flex-col gap-0.5 px-1 py-1.5 text-[11px]' : 'gap-3 px-3 py-2',
          isActive ? (mobile ? 'text-brand-600' : 'bg-brand-50 text-brand-700') : 'text-gray-600 hover:bg-gray-100',
        )
      }
    >
      {item.icon}
      <span className="truncate">{item.label}</span>
    </NavLink>
  );

  return (
    <div className="flex h-[100dvh] flex-col bg-chat-panel">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:shadow">
        {t('shell.skip_to_content')}
      </a>
      <RealtimeProvider />
      <AgendaToasts />
      <ConnectionBanner />
      {tenantQ.data && <LicenseBanner info={tenantQ.data} />}
      <div className="flex min-h-0 flex-1">
        <aside className="hidden w-60 shrink-0 flex-col border-r border-gray-200 bg-white md:flex">
          <div className="flex items-center gap-2 border-b border-gray-100 px-4 py-4">
            <span className="flex h-9 w-9 items-center justify-center rounded-full bg-brand-500 text-white">
              <MessageCircle className="h-5 w-5" aria-hidden />
            </span>
            <div className="min-w-0">
              <p className="truncate text-sm font-semibold text-gray-900">{user?.tenant_name || t('shell.platform')}</p>
              <p className="truncate text-xs text-gray-500">{t('shell.product')}</p>
            </div>
          </div>
          <nav className="flex-1 space-y-1 p-3" aria-label={t('shell.navigation')}>{items.map((i) => navLink(i))}</nav>
          <div className="space-y-3 border-t border-gray-100 p-3">
            <div className="flex items-center gap-2">
              <Avatar name={user?.name} className="h-8 w-8 text-xs" />
              <div className="min-w-0 flex-1">
                <p className="truncate text-sm font-medium text-gray-900" data-testid="current-user">{user?.name}</p>
                <p className="truncate text-xs text-gray-500">{user ? t(`roles.${user.role}`) : ''}</p>
                <AvailabilitySwitch />
              </div>
              <Link to="/account/password" className="rounded-md p-1.5 text-gray-500 hover:bg-gray-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500" title={t('password.change_menu')} aria-label={t('password.change_menu')} data-testid="change-password">
                <KeyRound className="h-4 w-4" aria-hidden />
              </Link>
              <button onClick={logout} className="rounded-md p-1.5 text-gray-500 hover:bg-gray-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500" title={t('shell.logout')} aria-label={t('shell.logout')} data-testid="logout">
                <LogOut className="h-4 w-4" aria-hidden />
              </button>
            </div>
            <LanguageSwitch compact />
            <NotificationsButton />
          </div>
        </aside>
        <div className="flex min-w-0 flex-1 flex-col">
          <header className="flex items-center justify-between border-b border-gray-200 bg-white px-3 py-2 md:hidden">
            <div className="flex min-w-0 items-center gap-2">
              <span className="flex h-8 w-8 items-center justify-center rounded-full bg-brand-500 text-white">
                <MessageCircle className="h-4 w-4" aria-hidden />
              </span>
              <p className="truncate text-sm font-semibold">{user?.tenant_name || t('shell.platform')}</p>
            </div>
            <div className="flex items-center gap-1">
              <AvailabilitySwitch compact />
              <LanguageSwitch compact />
              <Link to="/account/password" className="rounded-md p-1.5 text-gray-500 hover:bg-gray-100" aria-label={t('password.change_menu')}>
                <KeyRound className="h-4 w-4" aria-hidden />
              </Link>
              <button onClick={logout} className="rounded-md p-1.5 text-gray-500 hover:bg-gray-100" aria-label={t('shell.logout')}>
                <LogOut className="h-4 w-4" aria-hidden />
              </button>
            </div>
          </header>
          <main id="main" className="min-h-0 flex-1 overflow-hidden" tabIndex={-1}>
            <Outlet />
          </main>
          <nav className="flex border-t border-gray-200 bg-white px-1 pb-[env(safe-area-inset-bottom)] md:hidden" aria-label={t('shell.navigation')}>
            {items.map((i) => navLink(i, true))}
          </nav>
        </div>
      </div>
    </div>
  );
}

/** A scrollable page body with the usual padding. */
export function PageBody({ children, className }: { children: ReactNode; className?: string }) {
  return <div className={clsx('h-full overflow-y-auto p-4 sm:p-6', className)}>{children}</div>;
}
