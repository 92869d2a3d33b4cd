export * from './auth.js';
export * from './content.js';
export * from './cursor.js';
export * from './errors.js';
export * from './ids.js';
export * from './merge/index.js';
export * from './summary.js';
export * from './sync.js';
