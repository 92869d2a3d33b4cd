import { AppError } from '@holdfast/protocol';
import type { z } from 'zod';

/** Parses request input; failures are `invalid_request` naming each bad field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
  const first = issues[0];
  const summary = first ? `${first.path ? `${first.path}: ` : ''}${first.message}` : 'invalid';
  throw new AppError('invalid_request', `Invalid ${where}: ${summary}`, { issues });
}
