import { useCallback, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Button, Modal } from './ui';

interface Ask {
  message: ReactNode;
  confirmLabel?: string;
  danger?: boolean;
}

/**
 * The app's confirmation dialog in place of the browser's native one: styled,
 * translated, keyboard-accessible, and it does not block the page.
 * const [ask, dialog] = useConfirm(); … if (await ask({ message })) …; render {dialog}.
 */
export function useConfirm(): [(ask: Ask) => Promise<boolean>, ReactNode] {
  const { t } = useTranslation();
  const [question, setQuestion] = useState<Ask | null>(null);
  const resolver = useRef<((ok: boolean) => void) | null>(null);
  const ask = useCallback((next: Ask) => {
    resolver.current?.(false); // a second question answers the first "no"
    setQuestion(next);
    return new Promise<boolean>((resolve) => { resolver.current = resolve; });
  }, []);
  const answer = (ok: boolean) => {
    resolver.current?.(ok);
    resolver.current = null;
    setQuestion(null);
  };
  const dialog = question ? (
    <Modal open onOpenChange={(o) => !o && answer(false)} title={t('common.confirm_title')}>
      <p className="mb-5 text-sm text-gray-700" data-testid="confirm-message">{question.message}</p>
      <div className="flex justify-end gap-2">
        <Button type="button" variant="outline" onClick={() => answer(false)}>{t('common.cancel')}</Button>
        <Button type="button" variant={question.danger === false ? 'primary' : 'danger'} onClick={() => answer(true)} autoFocus>
          {question.confirmLabel ?? t('common.confirm')}
        </Button>
      </div>
    </Modal>
  ) : null;
  return [ask, dialog];
}
