import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { describeError, keys, newId, pushChange } from '../../components/collection-items';
import { uploadBlob } from '../../components/photos-upload';
import type { Attachment, MessageContent, Thread } from './message-threads';

interface Props {
  collectionId: string;
  username: string;
  /** The thread to answer in, or null to start one. */
  thread: Thread | null;
  onSent: (thread: string) => void;
}

/** Writes a message, with pictures if chosen, into a thread or a new one. */
export function MessageComposer({ collectionId, username, thread, onSent }: Props) {
  const queryClient = useQueryClient();
  const id = useId();
  const [to, setTo] = useState('');
  const [body, setBody] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [fileKey, setFileKey] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function send(event: FormEvent) {
    event.preventDefault();
    if (!body.trim() && files.length === 0) return;
    setBusy(true);
    setError(null);
    try {
      const attachments: Attachment[] = [];
      for (const file of files) attachments.push({ ...(await uploadBlob(file)), filename: file.name.slice(0, 255) });
      const recipients = thread ? thread.people.filter((p) => p !== username) : to.split(',').map((p) => p.trim());
      const threadId = thread?.id ?? to.trim();
      const content: MessageContent = {
        thread: threadId,
        sender: username,
        recipients: recipients.filter(Boolean),
        body,
        sentAt: new Date().toISOString(),
        direction: 'outgoing',
        attachments,
      };
      await pushChange({ collectionId, itemId: newId(), op: 'put', baseRevision: null, content });
      setBody('');
      setFiles([]);
      setFileKey((k) => k + 1);
      await queryClient.invalidateQueries({ queryKey: keys.items(collectionId) });
      onSent(threadId);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="message-composer" onSubmit={send}>
      {!thread && (
        <>
          <h2>New conversation</h2>
          <label htmlFor={`${id}-to`}>To</label>
          <input id={`${id}-to`} required value={to} onChange={(e) => setTo(e.target.value)} maxLength={256} />
        </>
      )}
      <label htmlFor={`${id}-body`}>Message</label>
      <textarea id={`${id}-body`} rows={3} value={body} onChange={(e) => setBody(e.target.value)} />
      <label htmlFor={`${id}-pictures`}>Pictures</label>
      <input
        key={fileKey}
        id={`${id}-pictures`}
        type="file"
        accept="image/*"
        multiple
        onChange={(e) => setFiles([...(e.target.files ?? [])])}
      />
      {error && <p role="alert">{error}</p>}
      <p>
        <button type="submit" disabled={busy}>
          Send message
        </button>
      </p>
    </form>
  );
}
