import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect, useRef } from 'react';
import { Link, Redirect, useLocation, useSearch } from 'wouter';
import { apiFetch, setCsrfToken } from '../api/http';
import { isSessionEnded, useSession } from '../session/session';
import { useLiveUpdates } from './live-updates';
import { NoticeBanner } from './notice-banner';

/** The pages a signed-in person reaches from the navigation, in its order. */
const SECTIONS = [
  { path: '/', label: 'Is my data safe?' },
  { path: '/contacts', label: 'Contacts' },
  { path: '/calendar', label: 'Calendar' },
  { path: '/tasks', label: 'Tasks' },
  { path: '/notes', label: 'Notes' },
  { path: '/photos', label: 'Photos' },
  { path: '/messages', label: 'Messages' },
  { path: '/history', label: 'History and trash' },
  { path: '/incidents', label: 'What happened' },
  { path: '/my-data', label: 'My data' },
  { path: '/devices', label: 'Devices' },
  { path: '/account', label: 'Account' },
] as const;

function isCurrent(section: string, location: string): boolean {
  return section === '/' ? location === '/' : location === section || location.startsWith(`${section}/`);
}

/**
 * Everything behind sign-in. Without a live session it sends the person to
 * the sign-in page exactly once, naming why; the sign-in page itself is
 * outside the gate, so there is nothing to loop through.
 */
export function Shell({ children }: { children: ReactNode }) {
  const session = useSession();
  const [location] = useLocation();
  const search = useSearch();
  if (session.isPending) return <p className="loading">Loading…</p>;
  if (session.isError && isSessionEnded(session.error)) {
    const next = `${location}${search ? `?${search}` : ''}`;
    return <Redirect to={`/sign-in?reason=${session.error.code}&next=${encodeURIComponent(next)}`} replace />;
  }
  // A server that cannot be reached for a moment does not take the page away from someone already signed in.
  if (session.isError && session.data === undefined) {
    return (
      <main className="sign-in">
        <h1>The server could not be reached</h1>
        <p role="alert">{session.error.message}</p>
        <button type="button" onClick={() => session.refetch()}>
          Try again
        </button>
      </main>
    );
  }
  if (session.data === undefined) return <p className="loading">Loading…</p>;
  return <SignedIn username={session.data.user.username}>{children}</SignedIn>;
}

function SignedIn({ username, children }: { username: string; children: ReactNode }) {
  useLiveUpdates();
  const client = useQueryClient();
  const [location, navigate] = useLocation();
  const me = useQuery({ queryKey: ['me'], queryFn: () => apiFetch<{ admin?: boolean }>('/v1/me') });
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  // After moving between sections, focus goes to the new page, as a full page load would put it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on each change of location by design.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [location]);

  const signOut = async () => {
    try {
      await apiFetch('/v1/session', { method: 'DELETE' });
    } finally {
      setCsrfToken(null);
      client.clear();
      navigate('/sign-in?reason=signed_out', { replace: true });
    }
  };

  return (
    <div className="shell">
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="shell-header">
        <span className="brand">Holdfast</span>
        <span className="who">
          Signed in as <strong>{username}</strong>
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <nav aria-label="Sections">
        <ul>
          {SECTIONS.map((section) => (
            <li key={section.path}>
              <Link href={section.path} aria-current={isCurrent(section.path, location) ? 'page' : undefined}>
                {section.label}
              </Link>
            </li>
          ))}
          {me.data?.admin && (
            <li>
              <Link href="/admin" aria-current={isCurrent('/admin', location) ? 'page' : undefined}>
                Operators
              </Link>
            </li>
          )}
        </ul>
      </nav>
      <main id="content" ref={main} tabIndex={-1}>
        <NoticeBanner />
        {children}
      </main>
    </div>
  );
}
