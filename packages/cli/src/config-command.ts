import { AppError } from '@holdfast/protocol';
import { configReference, redactConfig } from '@holdfast/server';
import type { Invocation } from './main.js';

export async function configCommand({ config, args, io }: Invocation): Promise<number> {
  if (args[0] === 'print') {
    io.out(JSON.stringify(redactConfig(config), null, 2));
    return 0;
  }
  if (args[0] === 'reference') {
    io.out(configReference());
    return 0;
  }
  throw new AppError('invalid_request', 'Usage: holdfast config print | holdfast config reference');
}
