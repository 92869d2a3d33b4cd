import { batched } from '../bundle/bundle-writer.js';
import { type MessageEntry, messagesOf } from './export-messages.js';
import type { ExportRun } from './export-run.js';

/**
 * `messages/sms.xml` in the format of Android's "SMS Backup & Restore":
 * `<smses count="N"><sms protocol="0" address="…" date="…" type="1|2"
 * body="…" …/></smses>`. `type` is 1 for received and 2 for sent; `date` is
 * the sent time in ms; `address` is the other party (several recipients are
 * joined with `~`, as Android does). The JSON thread files remain the
 * complete copy; this file is for restoring texts to a phone.
 */
export async function exportSmsXml(run: ExportRun, threads: MessageEntry[][]): Promise<void> {
  const count = threads.reduce((sum, thread) => sum + thread.length, 0);
  async function* body(): AsyncGenerator<Uint8Array> {
    yield Buffer.from(`<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<smses count="${count}">\n`);
    for (const thread of threads) {
      for await (const { content } of messagesOf(run, thread)) {
        const sent = content.direction === 'outgoing';
        const address = sent ? content.recipients.join('~') : content.sender;
        const date = Date.parse(content.sentAt);
        const attributes = [
          ['protocol', '0'],
          ['address', address],
          ['date', String(date)],
          ['type', sent ? '2' : '1'],
          ['subject', 'null'],
          ['body', content.body],
          ['toa', 'null'],
          ['sc_toa', 'null'],
          ['service_center', 'null'],
          ['read', '1'],
          ['status', '-1'],
          ['locked', '0'],
          ['date_sent', String(date)],
          ['readable_date', content.sentAt],
          ['contact_name', '(Unknown)'],
        ];
        yield Buffer.from(`  <sms ${attributes.map(([k, v]) => `${k}="${xmlEscape(v ?? '')}"`).join(' ')} />\n`);
      }
    }
    yield Buffer.from('</smses>\n');
  }
  await run.writer.addFile('messages/sms.xml', batched(body()));
}

/** Escapes text for an XML attribute; line breaks and tabs as character references so they survive. */
export function xmlEscape(text: string): string {
  return (
    text
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/\n/g, '&#10;')
      .replace(/\r/g, '&#13;')
      .replace(/\t/g, '&#9;')
      // XML 1.0 cannot carry other control characters at all, not even as references.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: those characters are what is being replaced.
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
  );
}
