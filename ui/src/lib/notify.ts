// Desktop notifications and a short sound for new customer messages, once the
// user has allowed notifications in the browser.

export function notificationsSupported(): boolean {
  return typeof window !== 'undefined' && 'Notification' in window;
}

export function notificationsAllowed(): boolean {
  return notificationsSupported() && Notification.permission === 'granted';
}

export async function askNotifications(): Promise<boolean> {
  if (!notificationsSupported()) return false;
  const result = await Notification.requestPermission();
  return result === 'granted';
}

let audio: AudioContext | null = null;

/** Two soft notes, like a chat app's ping. */
export function playPing() {
  try {
    audio ??= new AudioContext();
    const now = audio.currentTime;
    for (const [i, freq] of [880, 1320].entries()) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + i * 0.12);
      gain.gain.exponentialRampToValueAtTime(0.15, now + i * 0.12 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.12 + 0.18);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.12);
      osc.stop(now + i * 0.12 + 0.2);
    }
  } catch {
    /* no audio */
  }
}

/** Tells the agent about a new customer message when the console is not in front of them. */
export function notifyInbound(opts: { title: string; body: string; conversationId: string; open: (id: string) => void }) {
  if (!notificationsAllowed()) return;
  playPing();
  if (!document.hidden) return;
  const n = new Notification(opts.title, { body: opts.body, tag: `conversation-${opts.conversationId}` });
  n.onclick = () => {
    window.focus();
    opts.open(opts.conversationId);
    n.close();
  };
}

/** Tells the assignee about an appointment's reminder (appointment.reminder) with a desktop notification, when allowed. */
export function notifyReminder(opts: { title: string; body: string; tag: string; open: () => void }) {
  if (!notificationsAllowed()) return;
  playPing();
  const n = new Notification(opts.title, { body: opts.body, tag: opts.tag });
  n.onclick = () => {
    window.focus();
    opts.open();
    n.close();
  };
}
