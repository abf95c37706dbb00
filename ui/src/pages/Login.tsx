import { Lock, MessageCircle } from 'lucide-react';
import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Navigate, useLocation, useNavigate } from 'react-router';
import { ApiError } from '../api/client';
import { auth } from '../api/endpoints';
import { Alert, Button, Field, Input, Select } from '../components/ui';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { translateFieldErrors } from '../lib/fieldMessages';
import { formatDuration } from '../lib/format';
import { homePath } from '../lib/routes';
import { useAuth } from '../store/auth';

type LoginError =
  | { kind: 'invalid_credentials' }
  | { kind: 'too_many_attempts' }
  | { kind: 'account_disabled' }
  | { kind: 'tenant_suspended' }
  | { kind: 'license_invalid'; reason: string }
  | { kind: 'network' }
  | { kind: 'other'; message: string };

export default function LoginPage() {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const location = useLocation();
  const user = useAuth((s) => s.user);
  const signIn = useAuth((s) => s.signIn);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [tenants, setTenants] = useState<{ slug: string; name: string }[] | null>(null);
  const [tenant, setTenant] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<LoginError | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [lockedUntil, setLockedUntil] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());

  const secondsLeft = lockedUntil ? Math.max(0, Math.ceil((lockedUntil - now) / 1000)) : 0;
  useEffect(() => {
    if (!lockedUntil) return;
    const id = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(id);
  }, [lockedUntil]);
  useEffect(() => {
    if (lockedUntil && secondsLeft === 0) {
      setLockedUntil(null);
      setError((e) => (e?.kind === 'too_many_attempts' ? null : e));
    }
  }, [lockedUntil, secondsLeft]);

  if (user) {
    const from = (location.state as { from?: string } | null)?.from;
    return <Navigate to={from && from !== '/login' ? from : homePath(user.role)} replace />;
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy || secondsLeft > 0) return;
    setBusy(true);
    setError(null);
    setFields({});
    try {
      const res = await auth.login({ email: email.trim(), password, tenant: tenants ? tenant || undefined : undefined });
      signIn(res);
      const from = (location.state as { from?: string } | null)?.from;
      navigate(from && from !== '/login' ? from : homePath(res.user.role), { replace: true });
    } catch (err) {
      if (!(err instanceof ApiError)) {
        setError({ kind: 'other', message: String(err) });
      } else if (err.status === 0) {
        setError({ kind: 'network' });
      } else if (err.code === 'tenant_required' && err.details.tenants?.length) {
        setTenants(err.details.tenants);
        setTenant((cur) => cur || err.details.tenants![0].slug);
      } else if (err.code === 'too_many_attempts' || err.status === 429) {
        const secs = err.retryAfter ?? 60;
        // One clock reading for both, so the countdown starts at secs
        // exactly (two readings a millisecond apart showed secs + 1).
        const at = Date.now();
        setNow(at);
        setLockedUntil(at + secs * 1000);
        setError({ kind: 'too_many_attempts' });
      } else if (err.code === 'validation_failed') {
        setFields(translateFieldErrors(err.fieldErrors));
      } else if (err.code === 'license_invalid' || err.status === 402) {
        setError({ kind: 'license_invalid', reason: String(err.details.reason ?? '') });
      } else if (err.code === 'invalid_credentials' || err.code === 'account_disabled' || err.code === 'tenant_suspended') {
        setError({ kind: err.code });
      } else {
        setError({ kind: 'other', message: err.message });
      }
    } finally {
      setBusy(false);
    }
  }

  let errorText: string | null = null;
  if (error) {
    switch (error.kind) {
      case 'too_many_attempts':
        errorText = t('login.errors.too_many_attempts', { count: secondsLeft, time: formatDuration(secondsLeft) });
        break;
      case 'license_invalid': {
        const reasonKey = `login.license_reason.${error.reason}`;
        errorText = `${t('login.errors.license_invalid')} ${i18n.exists(reasonKey) ? t(reasonKey) : ''}`.trim();
        break;
      }
      case 'other':
        errorText = error.message;
        break;
      default:
        errorText = t(`login.errors.${error.kind}`);
    }
  }

  return (
    <div className="flex min-h-screen flex-col bg-chat-panel">
      <div className="h-40 bg-brand-500" aria-hidden />
      <main className="-mt-28 flex flex-1 items-start justify-center px-4 pb-10">
        <div className="w-full max-w-md rounded-xl bg-white p-6 shadow-lg sm:p-8">
          <div className="mb-6 flex items-center gap-3">
            <span className="flex h-11 w-11 items-center justify-center rounded-full bg-brand-500 text-white">
              <MessageCircle className="h-6 w-6" aria-hidden />
            </span>
            <div>
              <h1 className="text-xl font-semibold text-gray-900">{t('login.title')}</h1>
              <p className="text-sm text-gray-500">{t('login.subtitle')}</p>
            </div>
          </div>
          <form onSubmit={submit} className="space-y-4" noValidate aria-describedby={errorText ? 'login-error' : undefined}>
            {errorText && (
              <Alert kind={error?.kind === 'too_many_attempts' || error?.kind === 'license_invalid' ? 'warning' : 'error'}>
                <span id="login-error" data-testid="login-error" data-code={error?.kind}>
                  {errorText}
                </span>
              </Alert>
            )}
            <Field label={t('login.email')} htmlFor="email" error={fields.email}>
              <Input id="email" type="email" autoComplete="username" autoFocus required value={email} invalid={!!fields.email}
                onChange={(e) => { setEmail(e.target.value); setTenants(null); }} placeholder={t('login.email_placeholder')} />
            </Field>
            <Field label={t('login.password')} htmlFor="password" error={fields.password}>
              <Input id="password" type="password" autoComplete="current-password" required value={password} invalid={!!fields.password}
                onChange={(e) => setPassword(e.target.value)} />
            </Field>
            <div className="-mt-2 text-right">
              <Link to="/esqueci-senha" className="text-sm font-medium text-brand-700 hover:underline" data-testid="forgot-password">{t('password.forgot_link')}</Link>
            </div>
            {tenants && (
              <Field label={t('login.choose_company')} htmlFor="tenant" hint={t('login.choose_company_hint')}>
                <Select id="tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} data-testid="tenant-select">
                  {tenants.map((tn) => (
                    <option key={tn.slug} value={tn.slug}>
                      {tn.name}
                    </option>
                  ))}
                </Select>
              </Field>
            )}
            <Button type="submit" className="w-full" loading={busy} disabled={secondsLeft > 0}>
              {secondsLeft > 0 ? (
                <>
                  <Lock className="h-4 w-4" aria-hidden /> {t('login.locked_button', { time: formatDuration(secondsLeft) })}
                </>
              ) : tenants ? (
                t('login.submit_company')
              ) : (
                t('login.submit')
              )}
            </Button>
          </form>
          <div className="mt-6 flex justify-center">
            <LanguageSwitch />
          </div>
        </div>
      </main>
    </div>
  );
}

