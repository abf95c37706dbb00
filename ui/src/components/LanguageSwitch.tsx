import { Languages } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import { LANGUAGES, setLanguage } from '../i18n';

export function LanguageSwitch({ compact }: { compact?: boolean }) {
  const { t, i18n } = useTranslation();
  return (
    <label className="inline-flex items-center gap-1.5 text-sm text-gray-600">
      <Languages className="h-4 w-4" aria-hidden />
      <span className={compact ? 'sr-only' : ''}>{t('common.language')}</span>
      <select
        className="rounded-md border border-gray-200 bg-white px-1.5 py-1 text-sm focus:outline-none focus:ring-2 focus:ring-brand-500/40"
        value={i18n.language}
        onChange={(e) => setLanguage(e.target.value)}
        data-testid="language-select"
      >
        {LANGUAGES.map((l) => (
          <option key={l.code} value={l.code}>
            {l.label}
          </option>
        ))}
      </select>
    </label>
  );
}
