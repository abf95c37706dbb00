import clsx from 'clsx';

/** A keyboard-friendly multi-select as a list of checkboxes. */
export function CheckList<T extends { id: string }>({ items, selected, onChange, render, emptyText, name }: {
  items: T[]; selected: string[]; onChange: (ids: string[]) => void; render: (item: T) => React.ReactNode; emptyText: string; name: string;
}) {
  if (items.length === 0) return <p className="text-sm text-gray-500">{emptyText}</p>;
  return (
    <div className="max-h-44 space-y-1 overflow-y-auto rounded-lg border border-gray-200 p-2" role="group" aria-label={name}>
      {items.map((item) => {
        const on = selected.includes(item.id);
        return (
          <label key={item.id} className={clsx('flex cursor-pointer items-center gap-2 rounded-md px-2 py-1 text-sm', on ? 'bg-brand-50' : 'hover:bg-gray-50')}>
            <input type="checkbox" className="h-4 w-4 accent-brand-500" checked={on}
              onChange={() => onChange(on ? selected.filter((x) => x !== item.id) : [...selected, item.id])} />
            {render(item)}
          </label>
        );
      })}
    </div>
  );
}
