// backend/info and backend/shutdown.
import { version } from '../../../package.json';
import { PROTOCOL_VERSION, Requests, type OnnxRuntimeInfo } from '../../core/rpc/protocol';
import { defineRequest, type BackendArea } from '../registry';

let onnxRuntime: OnnxRuntimeInfo | undefined;

/** Loads onnxruntime-node once, only to report it; a missing or broken install is reported, not thrown. */
function probeOnnxRuntime(): OnnxRuntimeInfo {
  if (onnxRuntime) return onnxRuntime;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as {
      listSupportedBackends?: () => Array<{ name: string; bundled: boolean }>;
      env?: { versions?: Record<string, string> };
    };
    const eps = ort.listSupportedBackends?.() ?? [];
    onnxRuntime = {
      available: true,
      version: ort.env?.versions?.node ?? ort.env?.versions?.common,
      executionProviders: eps.map((b) => ({ name: b.name, bundled: b.bundled })),
    };
  } catch (err) {
    onnxRuntime = { available: false, executionProviders: [], error: (err as Error).message.split('\n')[0] };
  }
  return onnxRuntime;
}

const noParams = () => null;

export const backendArea: BackendArea = {
  requests: [
    defineRequest(Requests.info, noParams, (_p, { services }) => ({
      protocolVersion: PROTOCOL_VERSION,
      version,
      pid: process.pid,
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      onnxruntime: probeOnnxRuntime(),
      clipEngine: services.models.available,
      methods: services.methods,
      jobKinds: services.jobs.kindNames,
    })),
    defineRequest(Requests.shutdown, noParams, (_p, { services }) => {
      services.shutdown();
      return null;
    }),
  ],
};
