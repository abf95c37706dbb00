import { CheckCircle2 } from 'lucide-react';
import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { ApiError } from '../../api/client';
import { auth } from '../../api/endpoints';
import { AuthLayout } from '../../components/AuthLayout';
import { Alert, Button, Field, Input, useErrorText } from '../../components/ui';
import { translateFieldErrors } from '../../lib/fieldMessages';
import { formatDuration } from '../../lib/format';

/** Checks a new password and its confirmation as the server will (password.go), before sending. */
export function checkNewPassword(password: string, confirmation: string, t: (k: string) => string): Record<string, string> {
  const out: Record<string, string> = {};
  if (password.length < 8) out.password = t('password.min_length');
  else if (password !== confirmation) out.confirmation = t('password.mismatch');
  return out;
}

/** /redefinir-senha?token=…: the page a reset e-mail's link opens. */
export default function ResetPasswordPage() {
  const { t } = useTranslation();
  const errorText = useErrorText();
  const [params, setParams] = useSearchParams();
  // Read once, then taken out of the address bar and history, so it does not
  // travel on in Referer headers or stay in the browser's history.
  const [token] = useState(() => params.get('token') ?? '');
  useEffect(() => {
    if (params.has('token')) setParams({}, { replace: true });
  }, [params, setParams]);
  const [password, setPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [linkDead, setLinkDead] = useState(!token);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    setError(null);
    const local = checkNewPassword(password, confirmation, t);
    setFields(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      await auth.resetPassword(token, password);
      setDone(true);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_reset_token') {
        setLinkDead(true);
      } else if (err instanceof ApiError && err.status === 429) {
        setError(t('password.too_many', { time: formatDuration(err.retryAfter ?? Number(err.details.retry_after_seconds ?? 60)) }));
      } else if (err instanceof ApiError && err.code === 'validation_failed') {
        setFields(translateFieldErrors(err.fieldErrors));
      } else {
        setError(errorText(err));
      }
    } finally {
      setBusy(false);
    }
  }

  if (done) {
    return (
      <AuthLayout title={t('password.reset_done_title')}>
        <div className="space-y-4" data-testid="reset-done">
          <Alert kind="success">
            <span className="flex gap-2"><CheckCircle2 className="h-5 w-5 shrink-0" aria-hidden /><span>{t('password.reset_done')}</span></span>
          </Alert>
          <Link to="/login" className="block text-center text-sm font-medium text-brand-700 hover:underline">{t('password.go_to_login')}</Link>
        </div>
      </AuthLayout>
    );
  }

  if (linkDead) {
    return (
      <AuthLayout title={t('password.reset_title')}>
        <div className="space-y-4">
          <Alert><span data-testid="reset-invalid">{token ? t('password.invalid_link') : t('password.missing_token')}</span></Alert>
          <Link to="/esqueci-senha" className="block text-center text-sm font-medium text-brand-700 hover:underline">{t('password.ask_new_link')}</Link>
        </div>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout title={t('password.reset_title')} subtitle={t('password.reset_subtitle')}>
      <form onSubmit={submit} className="space-y-4" noValidate>
        {error && <Alert kind="warning">{error}</Alert>}
        <Field label={t('password.new_password')} htmlFor="reset-password" error={fields.password}>
          <Input id="reset-password" type="password" autoComplete="new-password" autoFocus required value={password} invalid={!!fields.password}
            onChange={(e) => setPassword(e.target.value)} />
        </Field>
        <Field label={t('password.confirm_password')} htmlFor="reset-confirmation" error={fields.confirmation}>
          <Input id="reset-confirmation" type="password" autoComplete="new-password" required value={confirmation} invalid={!!fields.confirmation}
            onChange={(e) => setConfirmation(e.target.value)} />
        </Field>
        <Button type="submit" className="w-full" loading={busy}>{t('password.reset_submit')}</Button>
      </form>
    </AuthLayout>
  );
}
