// Entry point of dist/backend.js: the PSCL backend process, JSON-RPC over stdin/stdout
// (docs/backend.md). Logs go to stderr.
import type { ClipEngineFactory } from './clipEngine';
import { areas } from './methods';
import { keepAliveOnStrayErrors, startBackend } from './server';

/**
 * Binds clip/* requests to the CLIP runtime. Until src/core/clip's ClipModel is bound here,
 * clip/* answers "built without the CLIP runtime".
 */
const clipEngineFactory: ClipEngineFactory | undefined = undefined;

keepAliveOnStrayErrors();
startBackend({ areas, clipEngineFactory });
