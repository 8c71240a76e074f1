#!/usr/bin/env node
import { tuneGarbageCollector } from './gc-tuning.js';

// Before anything else allocates (see gc-tuning.ts); the command and its modules (pino, prom-client, the server)
// load after it, through a dynamic import, which the bundler cannot hoist above this call.
tuneGarbageCollector();
await import('./command.js');
