// prototypes.safetensors: `level.<LEVEL>`, `fine` (VLCL-MG) and `parts.<COARSE>`, float32, with the
// hashes that produced them in the metadata so a later build can reuse either group.
import { existsSync } from 'node:fs';
import { encodeSafetensors, SafetensorsFile, type TensorToWrite } from '../clip/safetensors';
import type { ClassPrototypes, PartEmbeddings } from '../prototypes/build';
import type { Matrix } from '../prototypes/vlcl';

export interface StoredTensor {
  shape: number[];
  data: Float32Array;
}

export interface PrototypesContent {
  /** `level.*` and `fine`. */
  classTensors: Map<string, StoredTensor>;
  /** `parts.*`. */
  partTensors: Map<string, StoredTensor>;
  prototypesHash: string;
  partsHash: string;
}

export const levelTensor = (level: string) => `level.${level}`;
export const partsTensor = (coarse: string) => `parts.${coarse}`;
export const FINE_TENSOR = 'fine';

const stored = (m: Matrix): StoredTensor => ({ shape: [m.rows, m.dim], data: m.data });

export function classTensors(p: ClassPrototypes): Map<string, StoredTensor> {
  const out = new Map<string, StoredTensor>();
  for (const l of p.levels) out.set(levelTensor(l.level), stored(l.embeddings));
  out.set(FINE_TENSOR, stored(p.fine));
  return out;
}

export function partTensors(parts: PartEmbeddings[]): Map<string, StoredTensor> {
  return new Map(parts.map((p) => [partsTensor(p.coarse), stored(p.embeddings)]));
}

export function encodePrototypes(c: PrototypesContent): Uint8Array[] {
  const tensors: TensorToWrite[] = [...c.classTensors, ...c.partTensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
  return encodeSafetensors(tensors, { format: 'pscl-prototypes', prototypesHash: c.prototypesHash, partsHash: c.partsHash });
}

/** The stored prototypes, or undefined when the file is missing or unreadable (then rebuilt). */
export function readPrototypes(file: string): PrototypesContent | undefined {
  if (!existsSync(file)) return undefined;
  let f: SafetensorsFile;
  try {
    f = SafetensorsFile.open(file);
  } catch {
    return undefined;
  }
  try {
    const classTensors = new Map<string, StoredTensor>();
    const partTensors = new Map<string, StoredTensor>();
    for (const [name, info] of f.tensors) {
      if (info.dtype !== 'F32' || info.shape.length !== 2) continue;
      const t = { shape: info.shape, data: f.readFloat32(name) };
      (name.startsWith('parts.') ? partTensors : classTensors).set(name, t);
    }
    return { classTensors, partTensors, prototypesHash: f.metadata.prototypesHash ?? '', partsHash: f.metadata.partsHash ?? '' };
  } catch {
    return undefined;
  } finally {
    f.close();
  }
}
