import { send } from '@holdfast/test-support/real-http';

/**
 * Asks `url` (a cheap route such as /healthz) over fresh connections, one
 * after another, until `stop` is set; returns each answer's latency in
 * milliseconds. A blocked event loop shows as a long latency.
 */
export function probeLatency(url: string): { stop(): Promise<number[]> } {
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const response = await send(url);
      if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return latencies;
    },
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
