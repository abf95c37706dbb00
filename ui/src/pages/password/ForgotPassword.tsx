import { MailCheck } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { ApiError } from '../../api/client';
import { auth } from '../../api/endpoints';
import { AuthLayout } from '../../components/AuthLayout';
import { Alert, Button, Field, Input, useErrorText } from '../../components/ui';
import { translateFieldErrors } from '../../lib/fieldMessages';
import { formatDuration } from '../../lib/format';

/**
 * "Esqueci minha senha": asks for a reset link. The server answers the same
 * whether or not the e-mail has an account, and so does this page.
 */
export default function ForgotPasswordPage() {
  const { t } = useTranslation();
  const errorText = useErrorText();
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const value = email.trim();
    setFields({});
    setError(null);
    if (!value) {
      setFields({ email: t('fields.required') });
      return;
    }
    setBusy(true);
    try {
      await auth.forgotPassword(value);
      setSentTo(value);
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        const secs = err.retryAfter ?? Number(err.details.retry_after_seconds ?? 60);
        setError(t('password.too_many', { time: formatDuration(secs) }));
      } else if (err instanceof ApiError && err.code === 'validation_failed') {
        setFields(translateFieldErrors(err.fieldErrors));
      } else {
        setError(errorText(err));
      }
    } finally {
      setBusy(false);
    }
  }

  if (sentTo) {
    return (
      <AuthLayout title={t('password.forgot_sent_title')}>
        <div className="space-y-4" data-testid="forgot-sent">
          <Alert kind="success">
            <span className="flex gap-2">
              <MailCheck className="h-5 w-5 shrink-0" aria-hidden />
              <span>{t('password.forgot_sent', { email: sentTo })}</span>
            </span>
          </Alert>
          <p className="text-sm text-gray-500">{t('password.forgot_sent_hint')}</p>
          <Link to="/login" className="block text-center text-sm font-medium text-brand-700 hover:underline">{t('password.back_to_login')}</Link>
        </div>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout title={t('password.forgot_title')} subtitle={t('password.forgot_subtitle')}>
      <form onSubmit={submit} className="space-y-4" noValidate>
        {error && <Alert kind="warning"><span data-testid="forgot-error">{error}</span></Alert>}
        <Field label={t('login.email')} htmlFor="forgot-email" error={fields.email}>
          <Input id="forgot-email" type="email" autoComplete="username" autoFocus required value={email} invalid={!!fields.email}
            onChange={(e) => setEmail(e.target.value)} placeholder={t('login.email_placeholder')} />
        </Field>
        <Button type="submit" className="w-full" loading={busy}>{t('password.forgot_submit')}</Button>
        <Link to="/login" className="block text-center text-sm font-medium text-brand-700 hover:underline">{t('password.back_to_login')}</Link>
      </form>
    </AuthLayout>
  );
}
