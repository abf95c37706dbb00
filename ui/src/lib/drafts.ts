import { useEffect, useState } from 'react';

// The composer's unsent text, per user and conversation, in localStorage: it
// survives switching conversations and reloading, and is cleared when sent.
// The same browser may be shared by agents: the key names the user.

const PREFIX = 'crm.draft.';

export function draftKey(userId: string | null | undefined, conversationId: string): string | null {
  return userId ? `${PREFIX}${userId}.${conversationId}` : null;
}

function read(key: string | null): string {
  if (!key) return '';
  try {
    return localStorage.getItem(key) ?? '';
  } catch {
    return ''; // storage disabled
  }
}

/** The composer's text, kept under key (null: not kept). */
export function useDraft(key: string | null): [string, (text: string) => void] {
  const [draft, setDraft] = useState(() => ({ key, text: read(key) }));
  // Another conversation in the same composer: its own draft.
  const current = draft.key === key ? draft : { key, text: read(key) };
  if (current !== draft) setDraft(current);
  useEffect(() => {
    if (!current.key) return;
    try {
      if (current.text) localStorage.setItem(current.key, current.text);
      else localStorage.removeItem(current.key);
    } catch {
      /* full or disabled: the draft lives as long as the page */
    }
  }, [current.key, current.text]);
  return [current.text, (text: string) => setDraft({ key, text })];
}
