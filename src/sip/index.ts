export * from './message/index';
export * from './transport/index';
export * from './transaction/index';
export * from './engine/index';
