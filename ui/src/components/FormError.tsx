import { Alert, useErrorText } from './ui';

export function FormError({ error }: { error: unknown }) {
  const text = useErrorText();
  if (!error) return null;
  return <Alert kind="error" className="mb-3"><span data-testid="form-error">{text(error)}</span></Alert>;
}
