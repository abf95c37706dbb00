import { MessageCircle } from 'lucide-react';
import type { ReactNode } from 'react';
import { LanguageSwitch } from './LanguageSwitch';

/** The signed-out pages' frame (the login page's): a card under the brand band. */
export function AuthLayout({ title, subtitle, children }: { title: ReactNode; subtitle?: ReactNode; children: ReactNode }) {
  return (
    <div className="flex min-h-screen flex-col bg-chat-panel">
      <div className="h-40 bg-brand-500" aria-hidden />
      <main className="-mt-28 flex flex-1 items-start justify-center px-4 pb-10">
        <div className="w-full max-w-md rounded-xl bg-white p-6 shadow-lg sm:p-8">
          <div className="mb-6 flex items-center gap-3">
            <span className="flex h-11 w-11 shrink-0 items-center justify-center rounded-full bg-brand-500 text-white">
              <MessageCircle className="h-6 w-6" aria-hidden />
            </span>
            <div>
              <h1 className="text-xl font-semibold text-gray-900">{title}</h1>
              {subtitle && <p className="text-sm text-gray-500">{subtitle}</p>}
            </div>
          </div>
          {children}
          <div className="mt-6 flex justify-center">
            <LanguageSwitch />
          </div>
        </div>
      </main>
    </div>
  );
}
