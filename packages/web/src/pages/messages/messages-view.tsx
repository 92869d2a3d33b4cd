import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { apiFetch } from '../../api/http';
import { describeError, useAllItems } from '../../components/collection-items';
import { CollectionPicker } from '../../components/collection-picker';
import { MessageComposer } from './message-composer';
import { type MessageContent, threadsOf } from './message-threads';
import { ThreadView } from './thread-view';
import './messages.css';

export default function MessagesView() {
  const [collectionId, setCollectionId] = useState<string>();
  const [selected, setSelected] = useState<string | null>(null);
  const [composing, setComposing] = useState(false);
  const me = useQuery({ queryKey: ['me'], queryFn: () => apiFetch<{ username: string }>('/v1/me') });
  const items = useAllItems<MessageContent>(collectionId);
  const threads = useMemo(() => threadsOf(items.data ?? []), [items.data]);
  const current = threads.find((t) => t.id === selected) ?? null;
  const username = me.data?.username ?? 'me';

  return (
    <div className="messages-page">
      <h1>Messages</h1>
      <CollectionPicker type="messages" noun="Mailbox" selected={collectionId} onSelect={setCollectionId} />
      {items.isError && <p role="alert">{describeError(items.error)}</p>}
      {collectionId && (
        <div className="messages-layout">
          <nav aria-label="Threads" className="thread-list">
            <button type="button" onClick={() => setComposing(true)}>
              New conversation
            </button>
            {items.isPending ? (
              <p>Loading…</p>
            ) : threads.length === 0 ? (
              <p>No messages yet.</p>
            ) : (
              <ul>
                {threads.map((thread) => (
                  <li key={thread.id}>
                    <button
                      type="button"
                      className="thread-button"
                      aria-current={thread.id === selected ? 'true' : undefined}
                      onClick={() => {
                        setSelected(thread.id);
                        setComposing(false);
                      }}
                    >
                      <strong>{thread.id}</strong>
                      <span className="thread-preview">
                        {thread.last.content.body || `${thread.last.content.attachments?.length ?? 0} attachment(s)`}
                      </span>
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </nav>
          <section className="thread-pane" aria-label={current ? `Conversation ${current.id}` : 'Conversation'}>
            {composing ? (
              <MessageComposer
                collectionId={collectionId}
                username={username}
                thread={null}
                onSent={(thread) => {
                  setComposing(false);
                  setSelected(thread);
                }}
              />
            ) : current ? (
              <>
                <ThreadView thread={current} />
                <MessageComposer collectionId={collectionId} username={username} thread={current} onSent={() => {}} />
              </>
            ) : (
              <p>Choose a conversation.</p>
            )}
          </section>
        </div>
      )}
    </div>
  );
}
