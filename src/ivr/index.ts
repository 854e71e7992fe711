export * from './dialplan/index';
export * from './runner/index';
