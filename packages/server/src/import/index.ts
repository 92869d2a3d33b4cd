export { listImports } from '../store/imports.js';
export { type ImportOptions, type ImportOwner, importFile } from './import.js';
export { formatImportReport, type ImportReport, type ImportReportItem } from './import-report.js';
export { type UndoResult, undoImport } from './import-undo.js';
