// Types of scripts/sample-world.mjs for the TypeScript tests that import it (the module itself is
// plain JavaScript, run by node from scripts/make-sample.mjs and the demo CLIP's generator).
/* eslint-disable @typescript-eslint/no-explicit-any */
export interface SampleClass {
  order: string;
  family: string;
  genus: string;
  species: string;
  label: string;
  head: string;
  colour: string;
}
export const SIZE: number;
export const CLASSES: any[];
export const CUB_PARTS: string[];
export const REGIONS: string[];
export const SAMPLE_POSE: { scale: [number, number]; angle: [number, number]; dx: [number, number]; dy: [number, number] };
export function prng(seed: number): () => number;
/** A bird's appearance and pose (see the module). */
export function sampleBird(cls: any, r: () => number, pose?: typeof SAMPLE_POSE): any;
export function birdSvg(b: any): string;
export function toLocal(b: any, x: number, y: number): [number, number];
export function toImage(b: any, u: number, v: number): [number, number];
export function regionAtLocal(u: number, v: number): any;
export function partAt(b: any, x: number, y: number): any;
export function localKeypoints(): Record<string, [number, number]>;
/** One entry per CUB part: { part, x, y, visible }. */
export function birdKeypoints(b: any): any[];
export function partLocLines(imageId: number, b: any): string[];
