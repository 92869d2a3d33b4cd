import { asHoldfastError, HoldfastError } from '../errors.js';
import { open, type Transport } from './transport.js';

/** One Server-Sent Event. */
export interface ServerEvent {
  event: string;
  data: string;
}

/** Splits a text/event-stream into events (comments and unknown fields are skipped). */
export async function* parseEventStream(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<ServerEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = 'message';
  let data: string[] = [];
  for await (const chunk of chunks) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.search(/\r\n|\r|\n/);
    while (newline !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (data.length > 0) yield { event, data: data.join('\n') };
        event = 'message';
        data = [];
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      newline = buffer.search(/\r\n|\r|\n/);
    }
  }
}

/**
 * Opens `GET /v1/events` and yields its events until the server closes the
 * stream or the signal fires. Anything but a 200 text/event-stream answer is
 * an error (an HTML portal page is not an empty stream).
 */
export async function* serverEvents(t: Transport, signal: AbortSignal): AsyncGenerator<ServerEvent> {
  const token = t.token();
  if (!token) throw new HoldfastError('not_logged_in', 'This replica has no device token; log in first.');
  const response = await open(t, 'GET', '/v1/events', {
    headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
    signal,
  });
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('text/event-stream') || !response.body) {
    await response.body?.cancel().catch(() => {});
    throw new HoldfastError(
      'unexpected_response',
      `/v1/events answered ${type || 'no content type'}, not an event stream.`,
      response.status,
    );
  }
  try {
    yield* parseEventStream(response.body as unknown as AsyncIterable<Uint8Array>);
  } catch (error) {
    throw asHoldfastError(error);
  }
}
