import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { DirectoryTarget, type RepositorySecret, S3Target, type Target } from '@holdfast/backup';
import { AppError } from '@holdfast/protocol';
import { parseS3Url, s3ClientSettings, s3SettingsFromConfig } from '../blobs/index.js';
import { type Config, databaseLocation } from '../config.js';

export { backupTargetLocations } from './target-locations.js';

/** Opens the target a location names: `s3://bucket/prefix` or a directory. */
export function openBackupTarget(
  location: string,
  config: Pick<Config, 's3Endpoint' | 's3Region' | 's3AccessKeyId' | 's3SecretAccessKey'>,
): Target {
  if (!location.startsWith('s3://')) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
      throw new AppError('invalid_request', `Unsupported backup target (use s3:// or a directory): ${location}`);
    }
    return new DirectoryTarget(location);
  }
  const { bucket, prefix } = parseS3Url(location);
  return new S3Target({
    bucket,
    prefix,
    client: { ...s3ClientSettings(s3SettingsFromConfig(config)), maxAttempts: 2 },
  });
}

/** The repository secret: the key file if configured, else the passphrase. */
export function backupSecret(
  config: Pick<Config, 'backupPassphrase' | 'backupPassphraseFile' | 'dataDir'>,
): RepositorySecret {
  if (config.backupPassphraseFile !== '') {
    const file = config.backupPassphraseFile;
    return { keyFile: isAbsolute(file) ? file : resolve(config.dataDir, file) };
  }
  if (config.backupPassphrase !== '') return { passphrase: config.backupPassphrase };
  throw new AppError(
    'invalid_request',
    'No backup passphrase: set backupPassphraseFile (HOLDFAST_BACKUP_PASSPHRASE_FILE) or backupPassphrase.',
  );
}

/** Who holds a lock: this machine and database, so a restarted run can take over its own stale lock. */
export function lockHolder(config: Config): string {
  const database = createHash('sha256').update(databaseLocation(config)).digest('hex').slice(0, 16);
  return `${hostname()}:${database}`;
}
