import { z } from 'zod';

export const loginRequestSchema = z
  .object({
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(1024),
    deviceName: z.string().min(1).max(200).default('device'),
  })
  .strict();
export type LoginRequest = z.infer<typeof loginRequestSchema>;

export const loginResponseSchema = z.object({
  token: z.string(),
  userId: z.string(),
  deviceId: z.string(),
  generation: z.string(),
});
export type LoginResponse = z.infer<typeof loginResponseSchema>;

/** Usernames are what people type on phones: short, lower-case, no spaces. */
export const usernameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'usernames are lower-case letters, digits, . _ -');

/** `POST /v1/session`: password sign-in for the web portal. */
export const sessionRequestSchema = z
  .object({
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(1024),
  })
  .strict();
export type SessionRequest = z.infer<typeof sessionRequestSchema>;

/** A browser session: the signed-in user, the CSRF token its writes carry, and when it ends if left idle. */
export const sessionResponseSchema = z.object({
  user: z.object({ id: z.string(), username: z.string() }),
  csrfToken: z.string(),
  expiresAt: z.string(),
});
export type SessionResponse = z.infer<typeof sessionResponseSchema>;
