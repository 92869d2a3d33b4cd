import { useInfiniteQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState } from 'react';
import { Link } from 'wouter';
import { type ContactRow, searchContacts } from './contacts-api';

const ROW_HEIGHT = 64;

function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

function detail(contact: ContactRow): string {
  return [contact.phones[0], contact.emails[0], contact.organization].filter(Boolean).join(' · ');
}

/**
 * The contact list: pages of the server's search (sorted by name), rendered
 * virtually, so 10,000 contacts cost what is on screen. The next page is
 * fetched as the list scrolls near its end.
 */
export function ContactList() {
  const [query, setQuery] = useState('');
  const q = useDebounced(query.trim(), 200);
  const pages = useInfiniteQuery({
    queryKey: ['contacts', 'search', q],
    queryFn: ({ pageParam }) => searchContacts(q, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next,
  });
  const rows = pages.data?.pages.flatMap((page) => page.contacts) ?? [];
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length + (pages.hasNextPage ? 1 : 0),
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
  });
  const items = virtual.getVirtualItems();
  const lastIndex = items[items.length - 1]?.index ?? 0;
  useEffect(() => {
    if (lastIndex >= rows.length - 1 && pages.hasNextPage && !pages.isFetchingNextPage) void pages.fetchNextPage();
  }, [lastIndex, rows.length, pages]);

  return (
    <section aria-labelledby="contacts-heading">
      <div className="toolbar">
        <h1 id="contacts-heading">Contacts</h1>
        <Link href="/new" className="button">
          New contact
        </Link>
        <Link href="/duplicates">Possible duplicates</Link>
      </div>
      <label htmlFor="contact-search">Search contacts</label>
      <input
        id="contact-search"
        type="search"
        className="search"
        placeholder="Name, nickname, phone or e-mail"
        value={query}
        onChange={(event) => setQuery(event.target.value)}
      />
      {pages.isError && <p role="alert">{pages.error.message}</p>}
      {pages.isSuccess && rows.length === 0 && (
        <p role="status">{q ? `No contacts match “${q}”.` : 'No contacts yet.'}</p>
      )}
      <div ref={scroller} className="virtual-list" tabIndex={-1}>
        <ul aria-label="Contact list" style={{ height: virtual.getTotalSize() }}>
          {items.map((item) => {
            const contact = rows[item.index];
            return (
              <li key={contact?.id ?? 'more'} style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}>
                {contact ? (
                  <Link href={`/${encodeURIComponent(contact.id)}`}>
                    <span className="contact-name">{contact.name || '(no name)'}</span>
                    {contact.nicknames.length > 0 && (
                      <span className="contact-nick"> “{contact.nicknames.join('”, “')}”</span>
                    )}
                    <span className="contact-detail">{detail(contact)}</span>
                  </Link>
                ) : (
                  <span className="contact-detail">Loading more…</span>
                )}
              </li>
            );
          })}
        </ul>
      </div>
    </section>
  );
}
