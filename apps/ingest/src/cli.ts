#!/usr/bin/env node
import { capYoungGeneration } from './young-generation.js';

// Before anything else allocates (see young-generation.ts); the command and its modules (pino, prom-client, the
// server) load after it, through a dynamic import, which the bundler cannot hoist above this call.
capYoungGeneration();
await import('./command.js');
