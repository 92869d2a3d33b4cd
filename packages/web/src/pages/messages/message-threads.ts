import type { WireItem } from '../../components/collection-items';

export interface Attachment {
  sha256: string;
  contentType: string;
  filename?: string;
}

/** A message item's content (docs/protocol.md, section 11). */
export interface MessageContent {
  thread: string;
  sender: string;
  recipients: string[];
  body: string;
  sentAt: string;
  direction?: 'incoming' | 'outgoing';
  attachments?: Attachment[];
}

export type Message = WireItem<MessageContent>;

export interface Thread {
  id: string;
  messages: Message[];
  last: Message;
  /** Everyone in the thread, in the order they first appear. */
  people: string[];
}

/** Messages grouped by thread, newest thread first; each thread's messages oldest first. */
export function threadsOf(messages: Message[]): Thread[] {
  const byThread = new Map<string, Message[]>();
  for (const message of messages) {
    const list = byThread.get(message.content.thread) ?? [];
    list.push(message);
    byThread.set(message.content.thread, list);
  }
  const threads: Thread[] = [];
  for (const [id, list] of byThread) {
    list.sort((a, b) => Date.parse(a.content.sentAt) - Date.parse(b.content.sentAt));
    const last = list[list.length - 1] as Message;
    const people = [...new Set(list.flatMap((m) => [m.content.sender, ...m.content.recipients]))];
    threads.push({ id, messages: list, last, people });
  }
  return threads.sort((a, b) => Date.parse(b.last.content.sentAt) - Date.parse(a.last.content.sentAt));
}
