// Entry point of dist/backend.js: the PSCL backend process, JSON-RPC over stdin/stdout
// (docs/backend.md). Logs go to stderr.
import { clipModelEngineFactory } from './clipModelEngine';
import { areas } from './methods';
import { keepAliveOnStrayErrors, startBackend } from './server';

keepAliveOnStrayErrors();
startBackend({ areas, clipEngineFactory: clipModelEngineFactory });
