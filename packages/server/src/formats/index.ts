export { type ContactSummary, type DuplicateGroup, findDuplicates } from './duplicates.js';
export { type ExportOptions, exportAccount } from './export-run.js';
export { type ImportOptions, type ImportOwner, importFile } from './import.js';
export { formatImportReport, type ImportReport, type ImportReportItem } from './import-report.js';
export { listImports } from './import-store.js';
export { type UndoResult, undoImport } from './import-undo.js';
export { type ItemJsonView, itemJsonView } from './item-view.js';
export { type Manifest, manifestSchema, parseManifest } from './manifest.js';
export {
  databaseLiveSource,
  formatVerifyReport,
  httpLiveSource,
  type VerifyReport,
  verifyExport,
} from './verify.js';
export type { Finding } from './verify-bundle.js';
export type { LiveSource } from './verify-live.js';
