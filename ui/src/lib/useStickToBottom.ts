import { useCallback, useEffect, useRef, type RefObject } from 'react';

/** How close to the bottom (px) still counts as reading the newest message. */
const NEAR_BOTTOM = 48;

/**
 * Keeps a chat timeline on its newest message while the reader is there:
 * when `newest` changes (a message arrived or was sent) and when media inside
 * finishes loading and grows the content (an incoming image is taller once
 * it has loaded than when its message was added). A reader who scrolled up
 * into history stays where they are, unless `follow` says the newest is
 * their own (a message they just sent). `reset` (the conversation) starts at
 * the bottom again.
 */
export function useStickToBottom(ref: RefObject<HTMLElement | null>, newest: unknown, reset: unknown, follow = false) {
  // Whether the reader was at the bottom at the last scroll. Content that
  // grows does not scroll, so this keeps what the reader chose.
  const atBottom = useRef(true);
  const toBottom = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    atBottom.current = true;
  }, [ref]);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const onScroll = () => {
      atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight <= NEAR_BOTTOM;
    };
    // load and loadedmetadata do not bubble: listen in the capture phase.
    const onMediaLoaded = () => {
      if (atBottom.current) toBottom();
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    el.addEventListener('load', onMediaLoaded, true);
    el.addEventListener('loadedmetadata', onMediaLoaded, true);
    return () => {
      el.removeEventListener('scroll', onScroll);
      el.removeEventListener('load', onMediaLoaded, true);
      el.removeEventListener('loadedmetadata', onMediaLoaded, true);
    };
  }, [ref, toBottom]);

  useEffect(() => {
    atBottom.current = true;
    toBottom();
  }, [reset, toBottom]);

  useEffect(() => {
    if (atBottom.current || follow) toBottom();
  }, [newest, follow, toBottom]);
}
