import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'wouter';
import { apiFetch } from '../../api/http';

interface TrashItem {
  id: string;
  collectionId: string;
  type: string;
  name: string;
  deletedAt: string;
  revision: number;
  retentionUntil: string;
}

const KIND: Record<string, string> = {
  contacts: 'Contact',
  calendar: 'Event',
  tasks: 'Task',
  notes: 'Note',
  photos: 'Photo',
  messages: 'Message',
};

/** Deleted items still in the trash, with how long they stay, each one click from coming back. */
export function Trash() {
  const client = useQueryClient();
  const trash = useQuery({
    queryKey: ['trash'],
    queryFn: () => apiFetch<{ items: TrashItem[]; retentionDays: number }>('/v1/trash?limit=500'),
  });
  const undelete = useMutation({
    mutationFn: (id: string) => apiFetch(`/v1/items/${encodeURIComponent(id)}/undelete`, { method: 'POST' }),
    onSuccess: () => client.invalidateQueries(),
  });
  return (
    <section aria-labelledby="trash-heading">
      <h2 id="trash-heading">Trash</h2>
      {trash.data && (
        <p>
          Deleted items stay here for {trash.data.retentionDays} days after they are deleted. After that they can still
          be brought back by restoring to a date and time, as long as the server keeps their history.
        </p>
      )}
      {trash.isError && <p role="alert">{trash.error.message}</p>}
      {undelete.isError && <p role="alert">{undelete.error.message}</p>}
      {trash.data?.items.length === 0 && <p role="status">The trash is empty.</p>}
      {trash.data && trash.data.items.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Item</th>
              <th scope="col">Deleted</th>
              <th scope="col">Kept until</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {trash.data.items.map((item) => (
              <tr key={item.id}>
                <td>
                  {KIND[item.type] ?? 'Item'}:{' '}
                  <Link href={`/items/${encodeURIComponent(item.id)}`}>{item.name || item.id}</Link>
                </td>
                <td>{new Date(item.deletedAt).toLocaleString()}</td>
                <td>{new Date(item.retentionUntil).toLocaleDateString()}</td>
                <td>
                  <button
                    type="button"
                    onClick={() => undelete.mutate(item.id)}
                    disabled={undelete.isPending}
                    aria-label={`Restore ${item.name || item.id}`}
                  >
                    Restore
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
