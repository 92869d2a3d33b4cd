export { itemDigest } from '@holdfast/protocol';
