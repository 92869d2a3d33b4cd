/**
 * @holdfast/node-io: Node-only I/O that more than one package needs. It sits
 * beside @holdfast/protocol, which must stay free of I/O.
 */
export { fsyncDir, fsyncFd } from './fsync.js';
export { SqliteDatabase, sqliteDriverPackage, sqliteDriverPath } from './sqlite-driver.js';
