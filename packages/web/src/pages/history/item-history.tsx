import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'wouter';
import { apiFetch } from '../../api/http';
import { diffLines, readableLines } from './diff';

interface Revision {
  revision: number;
  op: 'put' | 'delete';
  collectionId: string;
  itemId: string;
  deviceId: string;
  origin: string;
  content: unknown;
  at: string;
}

interface Device {
  id: string;
  name: string;
}

function byWhom(revision: Revision, devices: Device[]): string {
  if (revision.origin === 'restore') return 'a restore';
  if (revision.origin === 'reseed') return 'a device refilling the server';
  if (revision.deviceId === 'admin-cli') return 'the operator';
  return devices.find((d) => d.id === revision.deviceId)?.name ?? 'a calendar or contacts app';
}

/** Every revision of one item, newest first, each with what it changed and a way back to it. */
export function ItemHistory({ id }: { id: string }) {
  const client = useQueryClient();
  const revisions = useQuery({
    queryKey: ['item', id, 'revisions'],
    queryFn: () => apiFetch<{ revisions: Revision[] }>(`/v1/items/${encodeURIComponent(id)}/revisions?limit=1000`),
  });
  const devices = useQuery({ queryKey: ['devices'], queryFn: () => apiFetch<{ devices: Device[] }>('/v1/devices') });
  const restore = useMutation({
    mutationFn: (revision: number) =>
      apiFetch<{ revision: number }>(`/v1/items/${encodeURIComponent(id)}/restore`, {
        method: 'POST',
        body: { revision },
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['item', id] }),
  });
  if (revisions.isPending) return <p>Loading…</p>;
  if (revisions.isError) return <p role="alert">{revisions.error.message}</p>;
  const list = revisions.data.revisions;
  const head = list[list.length - 1];
  const name = readableLines([...list].reverse().find((r) => r.op === 'put')?.content).find(
    (line) => line.startsWith('Name: ') || line.startsWith('Title: ') || line.startsWith('title: '),
  );
  return (
    <>
      <p>
        <Link href="/">← History and trash</Link>
      </p>
      <h1>History of {name ? name.slice(name.indexOf(': ') + 2) : 'this item'}</h1>
      {restore.isSuccess && <p role="status">Restored. It is now the newest version, on every device.</p>}
      {restore.isError && <p role="alert">{restore.error.message}</p>}
      <ol className="revisions" reversed>
        {[...list].reverse().map((revision) => {
          const index = list.indexOf(revision);
          const previous = index > 0 ? list[index - 1] : undefined;
          const diff = diffLines(readableLines(previous?.content), readableLines(revision.content));
          const changed = diff.filter((line) => line.kind !== 'same');
          return (
            <li key={revision.revision} className="card">
              <h2>
                {revision.op === 'delete' ? 'Deleted' : previous ? 'Changed' : 'Created'}{' '}
                {new Date(revision.at).toLocaleString()} by {byWhom(revision, devices.data?.devices ?? [])}
              </h2>
              {changed.length === 0 && revision.op === 'put' && <p>No visible change.</p>}
              {changed.length > 0 && (
                <ul className="diff" aria-label={`Changes in revision ${revision.revision}`}>
                  {changed.map((line, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: the same line may be removed and added again.
                    <li key={i} className={line.kind}>
                      <span className="diff-kind">{line.kind === 'added' ? 'Added' : 'Removed'}</span> {line.text}
                    </li>
                  ))}
                </ul>
              )}
              {revision.op === 'put' && revision !== head && (
                <button type="button" onClick={() => restore.mutate(revision.revision)} disabled={restore.isPending}>
                  Restore this version
                </button>
              )}
            </li>
          );
        })}
      </ol>
    </>
  );
}
