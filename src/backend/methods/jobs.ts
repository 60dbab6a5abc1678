// jobs/start, jobs/cancel, jobs/list over the JobManager.
import { Requests } from '../../core/rpc/protocol';
import { fields, str } from '../params';
import { defineRequest, type BackendArea } from '../registry';

export const jobsArea: BackendArea = {
  requests: [
    defineRequest(
      Requests.jobsStart,
      (raw) => {
        const p = fields(Requests.jobsStart.method, raw);
        return { kind: str(Requests.jobsStart.method, p, 'kind'), params: p.params };
      },
      (p, { services }) => ({ job: services.jobs.start(p.kind, p.params) }),
    ),
    defineRequest(
      Requests.jobsCancel,
      (raw) => ({ jobId: str(Requests.jobsCancel.method, fields(Requests.jobsCancel.method, raw), 'jobId') }),
      (p, { services }) => {
        const job = services.jobs.cancel(p.jobId);
        return job ? { cancelled: true, job } : { cancelled: false };
      },
    ),
    defineRequest(Requests.jobsList, () => null, (_p, { services }) => ({ jobs: services.jobs.list() })),
  ],
};
