import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { SESSION_KEY } from '../session/session';

/**
 * One change feed per page: `GET /v1/events` (sent the session cookie, like
 * any same-origin request). Each `change` marks every query stale except the
 * session's, so whatever is on screen refetches; the feed carries no content.
 * When the stream fails (the server restarted, the session ended) the
 * session is read again: if it ended, the gate says so; if not, the browser's
 * EventSource reconnects on its own.
 */
export function useLiveUpdates(): void {
  const client = useQueryClient();
  useEffect(() => {
    const source = new EventSource('/v1/events');
    let lastHead = -1;
    const refresh = () => void client.invalidateQueries({ predicate: (query) => query.queryKey[0] !== SESSION_KEY[0] });
    source.addEventListener('change', (event) => {
      const head = (JSON.parse((event as MessageEvent<string>).data) as { head?: number }).head ?? 0;
      if (head === lastHead) return;
      lastHead = head;
      refresh();
    });
    // A reconnect may have missed changes: refresh once it is back.
    let opened = false;
    source.addEventListener('ready', () => {
      if (opened) refresh();
      opened = true;
    });
    // The server ends a revoked or disabled session's stream at once: ask whether the session still stands.
    source.addEventListener('error', () => void client.invalidateQueries({ queryKey: SESSION_KEY }));
    return () => source.close();
  }, [client]);
}
