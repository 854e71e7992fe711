export { SipEngine, type SipEngineOptions } from './sip-engine';
export { checkRequest, type RequestCheckOptions } from './request-checks';
