import { messageContentSchema } from '@holdfast/protocol';
import { userBlobSizes } from '../store/blob-index.js';
import type { Queryable } from '../store/queryable.js';

/**
 * The SHA-256s of a message's attachments that the user holds no blob for.
 * Content that is not a valid message has none here: normalizeContent names
 * what is wrong with it. Most messages have no attachments, and then nothing
 * is parsed or looked up.
 */
export async function missingAttachments(on: Queryable, userId: string, content: unknown): Promise<string[]> {
  const attachments = (content as { attachments?: unknown } | null)?.attachments;
  if (Array.isArray(attachments) && attachments.length === 0) return [];
  const parsed = messageContentSchema.safeParse(content);
  if (!parsed.success) return [];
  const wanted = parsed.data.attachments.map((a) => a.sha256);
  if (wanted.length === 0) return [];
  const have = await userBlobSizes(on, userId, wanted);
  return wanted.filter((sha) => !have.has(sha));
}
