import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { apiResponse } from '../../api/http';
import { describeError, keys, pushChange } from '../../components/collection-items';
import { originalUrl, thumbnailUrl } from '../../components/photos-upload';
import type { Attachment, Message, Thread } from './message-threads';

const when: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeStyle: 'short' };

/** A thread's messages, oldest first; a picture message shows its pictures beside its text. */
export function ThreadView({ thread }: { thread: Thread }) {
  return (
    <>
      <h2>{thread.id}</h2>
      <p className="thread-people">With {thread.people.join(', ')}</p>
      <ol className="message-list">
        {thread.messages.map((message) => (
          <MessageRow key={message.id} message={message} />
        ))}
      </ol>
    </>
  );
}

function MessageRow({ message }: { message: Message }) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const { sender, body, sentAt, direction, attachments = [] } = message.content;

  async function remove() {
    if (!window.confirm('Delete this message?')) return;
    setError(null);
    try {
      await pushChange({
        collectionId: message.collectionId,
        itemId: message.id,
        op: 'delete',
        baseRevision: message.revision,
      });
    } catch (e) {
      setError(describeError(e));
    }
    await queryClient.invalidateQueries({ queryKey: keys.items(message.collectionId) });
  }

  return (
    <li className={direction === 'outgoing' ? 'message message-outgoing' : 'message'}>
      <div className="message-text">
        <p className="message-meta">
          <strong>{sender}</strong> · <time dateTime={sentAt}>{new Date(sentAt).toLocaleString(undefined, when)}</time>
        </p>
        {body && <p className="message-body">{body}</p>}
        <button
          type="button"
          className="link-button"
          onClick={remove}
          aria-label={`Delete the message from ${sender} sent ${new Date(sentAt).toLocaleString(undefined, when)}`}
        >
          Delete
        </button>
        {error && <p role="alert">{error}</p>}
      </div>
      {attachments.length > 0 && (
        <ul className="message-attachments" aria-label="Attachments">
          {attachments.map((a) => (
            <li key={a.sha256}>
              <AttachmentView attachment={a} />
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

function AttachmentView({ attachment }: { attachment: Attachment }) {
  // The thumbnail first. Without one (the server could not make it), the original read with its media type: the
  // server sends blobs as octet-stream, which an <img> will not show on its own.
  const [source, setSource] = useState<string | null>(thumbnailUrl(attachment.sha256));
  const [failed, setFailed] = useState(false);
  const name = attachment.filename || 'attachment';
  useEffect(
    () => () => {
      if (source?.startsWith('blob:')) URL.revokeObjectURL(source);
    },
    [source],
  );

  async function fallBack() {
    if (source?.startsWith('blob:')) return setFailed(true);
    setSource(null);
    try {
      const response = await apiResponse(originalUrl(attachment.sha256));
      const bytes = await response.arrayBuffer();
      setSource(URL.createObjectURL(new Blob([bytes], { type: attachment.contentType })));
    } catch {
      setFailed(true);
    }
  }

  if (!attachment.contentType.startsWith('image/') || failed) {
    return (
      <a href={originalUrl(attachment.sha256)} download={name}>
        Download {name}
      </a>
    );
  }
  return (
    <a href={originalUrl(attachment.sha256)} download={name} aria-label={`Download the picture ${name}`}>
      {source ? (
        <img src={source} alt={name} loading="lazy" width={160} height={160} onError={() => void fallBack()} />
      ) : (
        <span className="message-picture-loading">Loading {name}…</span>
      )}
    </a>
  );
}
