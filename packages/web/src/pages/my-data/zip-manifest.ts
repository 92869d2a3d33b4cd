/**
 * Reads `manifest.json` out of an export ZIP in the browser, to say what the
 * download holds. Only the central directory and that one entry are read;
 * ZIP64 (exports over 4 GiB) is followed. Null when the file is not a ZIP
 * with a manifest.
 */
export async function readZipManifest(blob: Blob): Promise<unknown | null> {
  const tailSize = Math.min(blob.size, 65_557);
  const tail = new DataView(await blob.slice(blob.size - tailSize).arrayBuffer());
  let end = -1;
  for (let i = tailSize - 22; i >= 0; i--) {
    if (tail.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end === -1) return null;
  let directorySize = tail.getUint32(end + 12, true);
  let directoryOffset = tail.getUint32(end + 16, true);
  if (directoryOffset === 0xffffffff && end >= 20 && tail.getUint32(end - 20, true) === 0x07064b50) {
    const at = Number(tail.getBigUint64(end - 20 + 8, true));
    const record = new DataView(await blob.slice(at, at + 56).arrayBuffer());
    directorySize = Number(record.getBigUint64(40, true));
    directoryOffset = Number(record.getBigUint64(48, true));
  }
  const directory = new DataView(await blob.slice(directoryOffset, directoryOffset + directorySize).arrayBuffer());
  const decoder = new TextDecoder();
  for (let p = 0; p + 46 <= directory.byteLength && directory.getUint32(p, true) === 0x02014b50; ) {
    const method = directory.getUint16(p + 10, true);
    let compressed = directory.getUint32(p + 20, true);
    const nameLength = directory.getUint16(p + 28, true);
    const extraLength = directory.getUint16(p + 30, true);
    const commentLength = directory.getUint16(p + 32, true);
    let local = directory.getUint32(p + 42, true);
    const name = decoder.decode(new Uint8Array(directory.buffer, p + 46, nameLength));
    if (name === 'manifest.json') {
      // ZIP64 extra field: the 64-bit sizes and offset, in this order, for those that overflowed.
      for (let e = p + 46 + nameLength; e + 4 <= p + 46 + nameLength + extraLength; ) {
        const id = directory.getUint16(e, true);
        const size = directory.getUint16(e + 2, true);
        if (id === 1) {
          let q = e + 4;
          if (directory.getUint32(p + 24, true) === 0xffffffff) q += 8;
          if (compressed === 0xffffffff) {
            compressed = Number(directory.getBigUint64(q, true));
            q += 8;
          }
          if (local === 0xffffffff) local = Number(directory.getBigUint64(q, true));
        }
        e += 4 + size;
      }
      const header = new DataView(await blob.slice(local, local + 30).arrayBuffer());
      const start = local + 30 + header.getUint16(26, true) + header.getUint16(28, true);
      const data = blob.slice(start, start + compressed);
      const stream = method === 8 ? data.stream().pipeThrough(new DecompressionStream('deflate-raw')) : data.stream();
      return JSON.parse(await new Response(stream).text());
    }
    p += 46 + nameLength + extraLength + commentLength;
  }
  return null;
}
