import { act, fireEvent, render } from '@testing-library/react';
import { useRef } from 'react';
import { describe, expect, it } from 'vitest';
import { useStickToBottom } from './useStickToBottom';

/** jsdom has no layout: the timeline's heights are set by hand. */
function layout(el: HTMLElement, scrollHeight: number, clientHeight = 400) {
  Object.defineProperty(el, 'scrollHeight', { configurable: true, get: () => scrollHeight });
  Object.defineProperty(el, 'clientHeight', { configurable: true, get: () => clientHeight });
}

function Timeline({ items, conversation = 'a' }: { items: string[]; conversation?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useStickToBottom(ref, items.at(-1), conversation);
  return (
    <div ref={ref} data-testid="timeline">
      {items.map((x) => (x.startsWith('img:') ? <img key={x} alt={x} src={`/${x}`} /> : <p key={x}>{x}</p>))}
    </div>
  );
}

describe('useStickToBottom', () => {
  it('brings an incoming image into view once it has loaded, when the reader was at the bottom', () => {
    const { getByTestId, getByAltText, rerender } = render(<Timeline items={['oi']} />);
    const el = getByTestId('timeline');
    layout(el, 1000);
    rerender(<Timeline items={['oi', 'tudo bem?']} />);
    expect(el.scrollTop).toBe(1000);
    fireEvent.scroll(el); // at the bottom (1000 - 1000 + … within reach)

    // The image's message arrives: its height is known only once it loads.
    rerender(<Timeline items={['oi', 'tudo bem?', 'img:foto']} />);
    expect(el.scrollTop).toBe(1000);
    layout(el, 1300);
    act(() => { getByAltText('img:foto').dispatchEvent(new Event('load')); });
    expect(el.scrollTop).toBe(1300);
  });

  it('leaves a reader who scrolled up into history where they are', () => {
    const { getByTestId, getByAltText, rerender } = render(<Timeline items={['oi']} />);
    const el = getByTestId('timeline');
    layout(el, 2000);
    rerender(<Timeline items={['oi', 'dois']} />);
    el.scrollTop = 300;
    fireEvent.scroll(el);
    rerender(<Timeline items={['oi', 'dois', 'img:foto']} />);
    layout(el, 2300);
    act(() => { getByAltText('img:foto').dispatchEvent(new Event('load')); });
    expect(el.scrollTop).toBe(300);
    // another conversation starts at its newest message
    layout(el, 900);
    rerender(<Timeline items={['x']} conversation="b" />);
    expect(el.scrollTop).toBe(900);
  });
});

function LateTimeline({ loading, items }: { loading: boolean; items: string[] }) {
  const ref = useRef<HTMLDivElement>(null);
  useStickToBottom(ref, items.at(-1), 'a');
  if (loading) return <p>…</p>;
  return (
    <div ref={ref} data-testid="timeline">
      {items.map((x) => (x.startsWith('img:') ? <img key={x} alt={x} src={`/${x}`} /> : <p key={x}>{x}</p>))}
    </div>
  );
}

describe('useStickToBottom with a timeline that appears after loading', () => {
  it('starts at the bottom and follows images that load later', () => {
    // the messages are known before the pane stops loading
    const { getByTestId, getByAltText, rerender } = render(<LateTimeline loading items={['oi', 'img:foto']} />);
    rerender(<LateTimeline loading={false} items={['oi', 'img:foto']} />);
    const el = getByTestId('timeline');
    // the content fits until the image has loaded: nothing to scroll yet
    layout(el, 1200);
    act(() => { getByAltText('img:foto').dispatchEvent(new Event('load')); });
    expect(el.scrollTop).toBe(1200);
  });

  it('does not take its own scroll, arriving after the image grew the content, for the reader leaving', () => {
    const { getByTestId, getByAltText, rerender } = render(<Timeline items={['oi']} />);
    const el = getByTestId('timeline');
    layout(el, 1000);
    rerender(<Timeline items={['oi', 'img:foto']} />);
    expect(el.scrollTop).toBe(1000);
    layout(el, 1600); // the image decoded: taller content, then our scroll event
    fireEvent.scroll(el);
    act(() => { getByAltText('img:foto').dispatchEvent(new Event('load')); });
    expect(el.scrollTop).toBe(1600);
  });
});
