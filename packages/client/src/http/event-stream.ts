import { createParser } from 'eventsource-parser';
import { asHoldfastError, HoldfastError } from '../errors.js';
import { open, type Transport } from './transport.js';

/** One Server-Sent Event. */
export interface ServerEvent {
  event: string;
  data: string;
}

/**
 * Splits a text/event-stream into events (comments, `id`, `retry` and unknown
 * fields are skipped; an event the stream ends in the middle of is dropped).
 */
export async function* parseEventStream(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<ServerEvent> {
  const decoder = new TextDecoder();
  const ready: ServerEvent[] = [];
  const parser = createParser({
    onEvent: ({ event, data }) => {
      ready.push({ event: event ?? 'message', data });
    },
  });
  for await (const chunk of chunks) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    yield* ready.splice(0);
  }
  parser.feed(decoder.decode());
  yield* ready.splice(0);
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
