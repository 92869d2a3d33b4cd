import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { Link, useLocation } from 'wouter';
import { apiFetch } from '../api/http';

interface Notice {
  seq: number;
  at: string;
  kind: string;
  summary: string;
}

/**
 * What happened to the person's data that they have not dismissed yet
 * (incidents, restores, re-seeds), above every page. A server without the
 * notices endpoint simply shows none.
 */
export function NoticeBanner() {
  const client = useQueryClient();
  const [location] = useLocation();
  const notices = useQuery({
    queryKey: ['notices'],
    queryFn: () => apiFetch<{ notices: Notice[] }>('/v1/notices'),
  });
  // A deployment-wide incident (a restore from backup, a rollback) writes no revision of the person's, so the
  // change feed does not announce it: moving to another page asks again.
  const shown = useRef(location);
  useEffect(() => {
    if (shown.current === location) return;
    shown.current = location;
    void client.invalidateQueries({ queryKey: ['notices'] });
  }, [client, location]);
  const dismiss = useMutation({
    mutationFn: (seq: number) => apiFetch(`/v1/notices/${seq}/dismiss`, { method: 'POST' }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['notices'] }),
  });
  const list = notices.data?.notices ?? [];
  if (list.length === 0) return null;
  return (
    <section className="banner" aria-label="Notices">
      {list.map((notice) => (
        <div key={notice.seq} className="banner-item">
          <p>
            <strong>{new Date(notice.at).toLocaleString()}:</strong> {notice.summary}{' '}
            <Link href="/incidents">What happened</Link>
          </p>
          <button type="button" onClick={() => dismiss.mutate(notice.seq)} disabled={dismiss.isPending}>
            Dismiss
          </button>
        </div>
      ))}
    </section>
  );
}
