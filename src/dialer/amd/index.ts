export { ClassicAmd, defaultAmdThresholds, type AmdThresholds } from './classic-amd';
