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
 * the bottom again, and so does a timeline element that appears later (the
 * pane shows a skeleton while it loads).
 */
export function useStickToBottom(ref: RefObject<HTMLElement | null>, newest: unknown, reset: unknown, follow = false) {
  // Whether the reader was at the bottom at their last scroll. Content that
  // grows does not scroll, so this keeps what the reader chose.
  const atBottom = useRef(true);
  // The scrollTop we set last: the scroll event it causes comes later, maybe
  // after an image has grown the content, and must not read as the reader
  // leaving the bottom.
  const pinned = useRef<number | null>(null);
  const seen = useRef<HTMLElement | null>(null);
  const toBottom = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    pinned.current = el.scrollTop;
    atBottom.current = true;
  }, [ref]);

  useEffect(() => {
    // On the document, in the capture phase: scroll and load do not bubble,
    // and the timeline element may come and go while the hook stays.
    const onScroll = (e: Event) => {
      const el = ref.current;
      if (!el || e.target !== el) return;
      if (pinned.current !== null && Math.abs(el.scrollTop - pinned.current) <= 1) return;
      pinned.current = null;
      atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight <= NEAR_BOTTOM;
    };
    const onMediaLoaded = (e: Event) => {
      const el = ref.current;
      if (el && atBottom.current && e.target instanceof Node && el.contains(e.target)) toBottom();
    };
    document.addEventListener('scroll', onScroll, true);
    document.addEventListener('load', onMediaLoaded, true);
    document.addEventListener('loadedmetadata', onMediaLoaded, true);
    return () => {
      document.removeEventListener('scroll', onScroll, true);
      document.removeEventListener('load', onMediaLoaded, true);
      document.removeEventListener('loadedmetadata', onMediaLoaded, true);
    };
  }, [ref, toBottom]);

  useEffect(() => {
    toBottom();
  }, [reset, toBottom]);

  // A timeline element that was not there before (after the loading skeleton).
  useEffect(() => {
    if (ref.current && ref.current !== seen.current) {
      seen.current = ref.current;
      toBottom();
    }
  });

  useEffect(() => {
    if (atBottom.current || follow) toBottom();
  }, [newest, follow, toBottom]);
}
