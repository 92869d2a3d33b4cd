export * from './auth/accounts.js';
export * from './backup/index.js';
export { openBlobStore } from './blobs/index.js';
export * from './config.js';
export { type ContactSummary, type DuplicateGroup, findDuplicates } from './content/duplicates.js';
export { type ItemJsonView, itemJsonView } from './content/item-view.js';
export { type NormalizedContent, normalizeContent } from './content/normalize-content.js';
export type { Caller, Context } from './context.js';
export * from './export/index.js';
export { buildApp } from './http/app.js';
export * from './import/index.js';
export {
  listLedger,
  listUserLedger,
  recordIncident,
  toWireLedgerEntry,
  type UserLedgerEntry,
  verifyLedger,
} from './ledger/ledger.js';
export * from './main.js';
export * from './notify/index.js';
export { listAppPasswords, revokeAppPassword } from './store/app-passwords.js';
export { readDatabaseCounts } from './store/counts.js';
export { checkDataDirPermissions, type PermissionFinding, secureDataDir } from './store/data-dir.js';
export { type Db, openDatabase } from './store/database.js';
export { listDevices, revokeDevice } from './store/devices.js';
export { checkSqliteIntegrity } from './store/integrity.js';
export { readGeneration } from './store/meta.js';
export { CODE_SCHEMA_VERSION, migrateTo, migrateToLatest, readSchemaState } from './store/migrate.js';
export { readHead } from './store/revision-log.js';
export { listUsers } from './store/users.js';
export { applyRestore, type PointInTime, previewRestore } from './sync/point-in-time.js';
export { acceptLoss, listHolds, type RecoveryHoldRow } from './sync/recovery.js';
export * from './verify/index.js';
