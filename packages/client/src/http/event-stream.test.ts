import { describe, expect, it } from 'vitest';
import { parseEventStream, type ServerEvent } from './event-stream.js';

async function collect(chunks: string[]): Promise<ServerEvent[]> {
  async function* source() {
    for (const chunk of chunks) yield new TextEncoder().encode(chunk);
  }
  const out: ServerEvent[] = [];
  for await (const event of parseEventStream(source())) out.push(event);
  return out;
}

describe('parseEventStream', () => {
  it('reads events split anywhere across chunks, skipping comments', async () => {
    const text = 'event: ready\ndata: {"head":1}\n\n: keep-alive\n\nevent: change\ndata: {"head":2}\n\n';
    const expected = [
      { event: 'ready', data: '{"head":1}' },
      { event: 'change', data: '{"head":2}' },
    ];
    expect(await collect([text])).toEqual(expected);
    expect(await collect(text.split(''))).toEqual(expected);
  });

  it('accepts CRLF line ends and multi-line data, and drops an unfinished event', async () => {
    expect(await collect(['data: a\r\ndata: b\r\n\r\nevent: change\r\ndata: cut'])).toEqual([
      { event: 'message', data: 'a\nb' },
    ]);
  });
});
