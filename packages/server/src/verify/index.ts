export {
  databaseLiveSource,
  formatVerifyReport,
  httpLiveSource,
  type VerifyReport,
  verifyExport,
} from './verify.js';
export type { Finding } from './verify-bundle.js';
export type { LiveSource } from './verify-live.js';
