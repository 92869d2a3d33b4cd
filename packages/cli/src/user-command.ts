import { randomBytes } from 'node:crypto';
import { AppError, usernameSchema } from '@holdfast/protocol';
import { createUser, listUsers, setPassword, setUserAdmin, setUserDisabled } from '@holdfast/server';
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

const USER_VERBS = ['add', 'list', 'passwd', 'disable', 'enable', 'admin'];
const USAGE =
  'Usage: holdfast user add NAME [--admin] | list | passwd NAME | disable NAME | enable NAME | admin NAME on|off';

export async function userCommand(invocation: Invocation): Promise<number> {
  const { config, args, io } = invocation;
  const [verb, name, setting] = args;
  // Usage errors before the database is opened: a mistyped command creates and migrates nothing.
  if (!verb || !USER_VERBS.includes(verb)) throw new AppError('invalid_request', USAGE);
  if (verb !== 'list' && !name) throw new AppError('invalid_request', `Usage: holdfast user ${verb} NAME`);
  if (verb === 'admin' && setting !== 'on' && setting !== 'off')
    throw new AppError('invalid_request', 'Usage: holdfast user admin NAME on|off');
  return withDatabase(config, verb === 'list' ? 'read' : 'write', async (ctx) => {
    switch (verb) {
      case 'add': {
        if (!name) throw new AppError('invalid_request', 'Usage: holdfast user add NAME');
        const valid = usernameSchema.safeParse(name);
        if (!valid.success)
          throw new AppError('invalid_request', `Invalid username: ${valid.error.issues[0]?.message}`);
        const admin = invocation.options.admin === true;
        const user = await createUser(ctx, name, await readNewPassword(invocation), { admin });
        io.out(`Created ${admin ? 'admin' : 'user'} ${user.username} (${user.id})`);
        return 0;
      }
      case 'list': {
        const users = await listUsers(ctx.db.kysely);
        // The documented shape (docs/operating.md), not the row: booleans and ISO 8601 times, never the hash.
        const shaped = users.map((u) => ({
          id: u.id,
          username: u.username,
          disabled: Boolean(u.disabled),
          admin: Boolean(u.admin),
          createdAt: new Date(Number(u.created_at)).toISOString(),
          updatedAt: new Date(Number(u.updated_at)).toISOString(),
        }));
        if (invocation.options.json) io.out(JSON.stringify(shaped));
        else
          for (const u of users)
            io.out(`${u.username}\t${u.id}\t${u.disabled ? 'disabled' : 'active'}${u.admin ? '\tadmin' : ''}`);
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
      case 'admin': {
        if (!name) throw new AppError('invalid_request', 'Usage: holdfast user admin NAME on|off');
        await setUserAdmin(ctx, name, setting === 'on');
        io.out(setting === 'on' ? `${name} is now an admin` : `${name} is no longer an admin`);
        return 0;
      }
      default:
        throw new AppError('invalid_request', USAGE);
    }
  });
}
