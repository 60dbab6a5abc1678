// Every area of the backend, one line each. A new feature adds src/backend/methods/<area>.ts
// exporting a BackendArea (requests and job kinds) and one line here; docs/backend.md has more.
import type { BackendArea } from '../registry';
import { backendArea } from './backend';
import { cacheArea } from './cache';
import { clipArea } from './clip';
import { curationArea } from './curation';
import { jobsArea } from './jobs';
import { masksArea } from './masks';
import { modelArea } from './model';
import { qualityArea } from './quality';

export const areas: BackendArea[] = [
  backendArea, // backend/info, backend/shutdown
  jobsArea, // jobs/start, jobs/cancel, jobs/list
  modelArea, // model/resolve (request and job kind)
  clipArea, // clip/textEmbeddings, clip/denseFeatures
  masksArea, // masks/compute, masks/grid (preview panel)
  cacheArea, // cache/build (request and job kind: Start Training)
  qualityArea, // quality/score (Parts and Taxonomy views, Prompt Report)
  curationArea, // curation/findings, curation/thumbnails, curation/map (Dataset view)
];
