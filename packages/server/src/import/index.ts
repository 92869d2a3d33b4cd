export { type ImportOptions, type ImportOwner, importFile } from './import.js';
export { formatImportReport, type ImportReport, type ImportReportItem } from './import-report.js';
export { listImports } from './import-store.js';
export { type UndoResult, undoImport } from './import-undo.js';
