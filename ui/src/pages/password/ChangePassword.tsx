import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../../api/client';
import { auth } from '../../api/endpoints';
import { PageBody } from '../../components/Shell';
import { Alert, Button, Card, Field, Input, PageHeader } from '../../components/ui';
import { FormError } from '../../components/FormError';
import { useForm } from '../../lib/useForm';
import { checkNewPassword } from './ResetPassword';

/** "Alterar senha": the signed-in user changes their own password. */
export default function ChangePasswordPage() {
  const { t } = useTranslation();
  const f = useForm({ current_password: '', new_password: '', confirmation: '' });
  const save = useMutation({
    mutationFn: () => auth.changePassword(f.values.current_password, f.values.new_password),
    onSuccess: () => f.reset({ current_password: '', new_password: '', confirmation: '' }),
    onError: (err) => {
      if (err instanceof ApiError && err.code === 'wrong_password') {
        f.fail(new ApiError(400, 'validation_failed', err.message, { fields: { current_password: t('password.wrong_current') } }));
      } else {
        f.fail(err);
      }
    },
  });

  function submit(e: React.FormEvent) {
    e.preventDefault();
    save.reset();
    const local = checkNewPassword(f.values.new_password, f.values.confirmation, t);
    const errors: Record<string, string> = {};
    if (!f.values.current_password) errors.current_password = t('fields.required');
    if (local.password) errors.new_password = local.password;
    if (local.confirmation) errors.confirmation = local.confirmation;
    if (Object.keys(errors).length) {
      f.fail(new ApiError(400, 'validation_failed', '', { fields: errors }));
      return;
    }
    save.mutate();
  }

  return (
    <PageBody>
      <PageHeader title={t('password.change_title')} description={t('password.change_subtitle')} />
      <Card className="max-w-md p-5">
        <form onSubmit={submit} className="space-y-4" noValidate>
          {save.isSuccess && <Alert kind="success"><span data-testid="password-changed">{t('password.changed')}</span></Alert>}
          <FormError error={f.formError} />
          <Field label={t('password.current_password')} htmlFor="current-password" error={f.errors.current_password}>
            <Input id="current-password" type="password" autoComplete="current-password" required value={f.values.current_password}
              invalid={!!f.errors.current_password} onChange={(e) => f.set('current_password', e.target.value)} />
          </Field>
          <Field label={t('password.new_password')} htmlFor="new-password" error={f.errors.new_password}>
            <Input id="new-password" type="password" autoComplete="new-password" required value={f.values.new_password}
              invalid={!!f.errors.new_password} onChange={(e) => f.set('new_password', e.target.value)} />
          </Field>
          <Field label={t('password.confirm_password')} htmlFor="confirm-password" error={f.errors.confirmation}>
            <Input id="confirm-password" type="password" autoComplete="new-password" required value={f.values.confirmation}
              invalid={!!f.errors.confirmation} onChange={(e) => f.set('confirmation', e.target.value)} />
          </Field>
          <div className="flex justify-end"><Button type="submit" loading={save.isPending}>{t('password.change_submit')}</Button></div>
        </form>
      </Card>
    </PageBody>
  );
}
