import { createHash } from 'node:crypto';
import type { TestServer, TestUser } from './harness.js';

export interface BlobUploadOptions {
  contentType?: string;
  /** The name to upload under instead of the bytes' own SHA-256 (to see a wrong name refused). */
  sha256?: string;
}

/** PUT /v1/blobs/<sha256> of `bytes` as `user`: the answer, and the name the bytes went under. */
export async function uploadBlob(
  server: Pick<TestServer, 'app'>,
  user: TestUser,
  bytes: Buffer,
  {
    contentType = 'application/octet-stream',
    sha256 = createHash('sha256').update(bytes).digest('hex'),
  }: BlobUploadOptions = {},
) {
  const response = await server.app.inject({
    method: 'PUT',
    url: `/v1/blobs/${sha256}`,
    headers: { ...user.auth, 'content-type': contentType },
    payload: bytes,
  });
  return { sha256, response };
}
