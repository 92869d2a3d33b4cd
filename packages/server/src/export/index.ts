export { type Manifest, manifestSchema, parseManifest } from '../bundle/manifest.js';
export { type ExportOptions, exportAccount } from './export-run.js';
