export { connectSipApplication, type SipApplicationOptions } from './sip-application';
