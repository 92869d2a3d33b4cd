import { createMemoryStore } from './memory-store.js';
import { describeReplicaStoreContract } from './store-contract.js';

describeReplicaStoreContract('memory', async () => ({ store: createMemoryStore(), dispose: async () => {} }));
