// Types of scripts/sample-world.mjs for the TypeScript that imports it (its test). The module is
// plain JavaScript: what it returns is typed loosely (any), as its test reads it.
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
export interface Pose {
  scale: [number, number];
  angle: [number, number];
  dx: [number, number];
  dy: [number, number];
}
export interface Bird {
  cls: SampleClass;
  bgHue: number;
  blobs: { cx: number; cy: number; r: number; fill: string }[];
  colours: { body: string; wing: string; belly: string };
  flip: number;
  scale: number;
  angle: number;
  cx: number;
  cy: number;
}
export interface Keypoint {
  part: string;
  x: number;
  y: number;
  visible: boolean;
}
export const SIZE: number;
export const CLASSES: SampleClass[];
export const CUB_PARTS: string[];
export const REGIONS: string[];
export const SAMPLE_POSE: Pose;
export function prng(seed: number): () => number;
export function sampleBird(cls: any, r: () => number, pose?: Pose): Bird;
export function birdSvg(b: Bird): string;
export function toLocal(b: Bird, x: number, y: number): [number, number];
export function toImage(b: Bird, u: number, v: number): [number, number];
export function regionAtLocal(u: number, v: number): any;
export function partAt(b: Bird, x: number, y: number): any;
export function localKeypoints(): any;
export function birdKeypoints(b: Bird): any[];
export function partLocLines(imageId: number, b: Bird): string[];
