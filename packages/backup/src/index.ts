/**
 * @holdfast/backup: the backup repository format and its storage targets.
 * The format is specified in docs/backup-format.md.
 */
export {
  compareAccountStates,
  listAccountStates,
  readAccountState,
  type StoredAccountState,
  writeAccountState,
} from './accounts.js';
export { type BlobIndex, loadBlobIndex, readBlob, type StoredBlob, writeBlob } from './blob.js';
export {
  type CheckOptions,
  type CheckProblem,
  type CheckProblemKind,
  type CheckReport,
  checkRepository,
} from './check.js';
export { computeDigests, type DigestBuilder, type DigestRecord, digestBuilder } from './digest.js';
export { DirectoryTarget } from './directory-target.js';
export {
  type Compression,
  compressionCodes,
  ENVELOPE_VERSION,
  type ObjectFailure,
  type ObjectType,
  objectFailure,
  objectTypes,
} from './envelope.js';
export {
  type JournalHead,
  type JournalSegmentInput,
  listJournalSegments,
  readJournalChain,
  readJournalSegment,
  type StoredSegment,
  writeJournalSegment,
} from './journal.js';
export { DEFAULT_SCRYPT, type RepositorySecret, type ScryptParams } from './keys.js';
export {
  acquireLock,
  isLockName,
  LOCK_PREFIX,
  type LockHandle,
  type LockOptions,
  type LockRecord,
  listLocks,
  lockProcessGone,
  MARK_PREFIX,
  pruneInProgress,
} from './lock.js';
export { parseObjectName, typePrefix } from './object-store.js';
export { currentProcess, isGoneFromThisHost, type ProcessIdentity } from './process-liveness.js';
export {
  changeRepositorySecret,
  FORMAT_VERSION,
  type InitOptions,
  initRepository,
  type OpenOptions,
  openRepository,
  type Repository,
} from './repository.js';
export { loadS3Sdk, type S3Sdk, S3Target, type S3TargetOptions } from './s3-target.js';
export {
  type AccountState,
  accountStateSchema,
  type BlobMap,
  type Digests,
  type JournalSegment,
  journalSegmentSchema,
  type RepositoryConfig,
  type Revision,
  revisionSchema,
  type SnapshotData,
  type SnapshotDataEntry,
  type SnapshotManifest,
  snapshotDataSchema,
  snapshotManifestSchema,
  type Verification,
  verificationSchema,
} from './schemas.js';
export {
  includedRecords,
  listSnapshots,
  type ReusedData,
  type ReusedRecord,
  readSnapshot,
  readSnapshotData,
  readSnapshotRecords,
  type SnapshotInput,
  type StoredSnapshot,
  writeSnapshot,
} from './snapshot.js';
export { type Target, type TargetFailure, targetError, targetFailure } from './target.js';
export { listVerifications, type StoredVerification, writeVerification } from './verification.js';
