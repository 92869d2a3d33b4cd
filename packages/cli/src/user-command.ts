import { randomBytes } from 'node:crypto';
import { AppError, usernameSchema } from '@holdfast/protocol';
import { createUser, listUsers, setPassword, setUserDisabled } from '@holdfast/server';
import { withDatabase } from './admin-db.js';
import type { Invocation } from './main.js';

async function readNewPassword(invocation: Invocation): Promise<string> {
  if (invocation.options.generate) {
    const password = randomBytes(15).toString('base64url');
    invocation.io.out(`Generated password: ${password}`);
    return password;
  }
  const password = await invocation.io.readSecret('Password: ');
  if (password === '')
    throw new AppError('invalid_request', 'No password given (type one, pipe one on stdin, or use --generate).');
  return password;
}

const USER_VERBS = ['add', 'list', 'passwd', 'disable', 'enable'];

export async function userCommand(invocation: Invocation): Promise<number> {
  const { config, args, io } = invocation;
  const [verb, name] = args;
  // Usage errors before the database is opened: a mistyped command creates and migrates nothing.
  if (!verb || !USER_VERBS.includes(verb))
    throw new AppError('invalid_request', 'Usage: holdfast user add|list|passwd|disable|enable NAME');
  if (verb !== 'list' && !name) throw new AppError('invalid_request', `Usage: holdfast user ${verb} NAME`);
  return withDatabase(config, verb === 'list' ? 'read' : 'write', async (ctx) => {
    switch (verb) {
      case 'add': {
        if (!name) throw new AppError('invalid_request', 'Usage: holdfast user add NAME');
        const valid = usernameSchema.safeParse(name);
        if (!valid.success)
          throw new AppError('invalid_request', `Invalid username: ${valid.error.issues[0]?.message}`);
        const user = await createUser(ctx, name, await readNewPassword(invocation));
        io.out(`Created user ${user.username} (${user.id})`);
        return 0;
      }
      case 'list': {
        const users = await listUsers(ctx.db.kysely);
        // The documented shape (docs/operating.md), not the row: booleans and ISO 8601 times, never the hash.
        const shaped = users.map((u) => ({
          id: u.id,
          username: u.username,
          disabled: Boolean(u.disabled),
          createdAt: new Date(Number(u.created_at)).toISOString(),
          updatedAt: new Date(Number(u.updated_at)).toISOString(),
        }));
        if (invocation.options.json) io.out(JSON.stringify(shaped));
        else for (const u of users) io.out(`${u.username}\t${u.id}\t${u.disabled ? 'disabled' : 'active'}`);
        return 0;
      }
      case 'passwd': {
        if (!name) throw new AppError('invalid_request', 'Usage: holdfast user passwd NAME');
        await setPassword(ctx, name, await readNewPassword(invocation));
        io.out(`Password changed for ${name}`);
        return 0;
      }
      case 'disable':
      case 'enable': {
        if (!name) throw new AppError('invalid_request', `Usage: holdfast user ${verb} NAME`);
        await setUserDisabled(ctx, name, verb === 'disable');
        io.out(`${name} ${verb}d`);
        return 0;
      }
      default:
        throw new AppError('invalid_request', 'Usage: holdfast user add|list|passwd|disable|enable NAME');
    }
  });
}
