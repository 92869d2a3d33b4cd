import { useWindowVirtualizer } from '@tanstack/react-virtual';
import { type RefObject, useLayoutEffect, useRef, useState } from 'react';
import type { WireItem } from '../../components/collection-items';
import { type PhotoContent, PhotoTile } from './photo-tile';

interface GridLayout {
  columns: number;
  /** One row of tiles and the gap under it, in pixels. */
  rowHeight: number;
  /** Where the grid starts on the page, for the window's scroll position. */
  top: number;
}

/**
 * The grid's layout as CSS made it: the column count auto-fill chose for
 * this width and the height of a row, read back from the rendered tiles, so
 * the stylesheet stays the one place that decides how the grid looks.
 */
function useGridLayout(grid: RefObject<HTMLUListElement | null>): GridLayout {
  const [layout, setLayout] = useState<GridLayout>({ columns: 1, rowHeight: 240, top: 0 });
  useLayoutEffect(() => {
    const element = grid.current;
    if (!element) return;
    const measure = () => {
      const style = getComputedStyle(element);
      const columns = Math.max(1, style.gridTemplateColumns.split(' ').filter(Boolean).length);
      const tile = element.querySelector('li');
      const gap = Number.parseFloat(style.rowGap) || 0;
      const rowHeight = tile ? Math.max(1, Math.round(tile.getBoundingClientRect().height + gap)) : 240;
      const top = Math.round(element.getBoundingClientRect().top + window.scrollY);
      setLayout((was) =>
        was.columns === columns && was.rowHeight === rowHeight && was.top === top ? was : { columns, rowHeight, top },
      );
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    observer.observe(document.body);
    return () => observer.disconnect();
  }, [grid]);
  return layout;
}

/**
 * An album's photos as a grid rendered virtually: only the rows on screen
 * (and a few either side) are in the page, so an album of thousands costs
 * what is visible, thumbnails included. The rows off screen are padding, so
 * the list stays one real list that scrolls with the page.
 */
export function PhotoGrid({ items }: { items: WireItem<PhotoContent>[] }) {
  const grid = useRef<HTMLUListElement>(null);
  const { columns, rowHeight, top } = useGridLayout(grid);
  const rowCount = Math.ceil(items.length / columns);
  const virtual = useWindowVirtualizer({
    count: rowCount,
    estimateSize: () => rowHeight,
    overscan: 2,
    scrollMargin: top,
  });
  // A new row height or column count moves every row: the virtualizer measures again.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the layout changes, by design.
  useLayoutEffect(() => virtual.measure(), [virtual, rowHeight, columns]);
  const rows = virtual.getVirtualItems();
  const first = rows[0]?.index ?? 0;
  const last = rows[rows.length - 1]?.index ?? -1;
  const shown = items.slice(first * columns, (last + 1) * columns);
  return (
    <ul
      ref={grid}
      className="photo-grid"
      aria-label="Photos"
      style={{ paddingTop: first * rowHeight, paddingBottom: Math.max(0, rowCount - 1 - last) * rowHeight }}
    >
      {shown.map((item) => (
        <PhotoTile key={item.id} item={item} />
      ))}
    </ul>
  );
}
