// Typings for the drachtio middleware the conformance suite's registrar uses (the packages ship none).

declare module 'drachtio-mw-digest-auth' {
  import type Srf = require('drachtio-srf');
  interface DigestAuthOptions {
    realm?: string | ((req: Srf.SrfRequest) => string);
    passwordLookup: (username: string, realm: string, callback: (err: Error | null, password?: string | { ha1: string }) => void) => void;
    qop?: string;
    /** Challenge with 407 instead of 401. */
    proxy?: boolean;
  }
  // srf.use types next as Function.
  function digestAuth(options: DigestAuthOptions): (req: Srf.SrfRequest, res: Srf.SrfResponse, next: Function) => void;
  export = digestAuth;
}

declare module 'drachtio-mw-registration-parser' {
  import type Srf = require('drachtio-srf');
  function registrationParser(req: Srf.SrfRequest, res: Srf.SrfResponse, next: Function): void;
  export = registrationParser;
}
