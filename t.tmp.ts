import { encodeLabelMapPng } from './src/core/masks/export';
import { writeFileSync } from 'node:fs';
writeFileSync('/tmp/lm.png', await encodeLabelMapPng({data: Uint8Array.of(0,1,2,3,0,1), width:3, height:2, numParts:3}));
