// mailauth ships no types. We use one function of it: DKIM verification (src/auth/verify-sender.ts).
// Shapes below are read from mailauth 4.9's lib/dkim/dkim-verifier.js; only the fields we read.
declare module 'mailauth/lib/dkim/verify' {
  export type MailauthResolver = (name: string, rrtype: string) => Promise<unknown>;

  export interface DkimVerifyOptions {
    resolver?: MailauthResolver;
    /** MAIL FROM; defaults to the Return-Path header. */
    sender?: string;
    /** Shortest RSA key accepted (bits), default 1024; shorter keys give result `policy`. */
    minBitLength?: number;
    /** "Now" for the x= expiry check. */
    curTime?: Date;
  }

  export interface DkimStatus {
    /** pass | fail | neutral | policy | temperror | none */
    result: string;
    comment?: string;
    /** The organisational domain mailauth found aligned with the first From address, or false. */
    aligned?: string | false;
    /** Bytes of canonical body not covered by an l= tag. */
    underSized?: number;
    policy?: Record<string, string>;
    header?: { i?: string | false; s?: string; a?: string; b?: string | false };
  }

  export interface DkimResult {
    id?: string;
    signingDomain?: string;
    selector?: string;
    /** The a= tag, e.g. rsa-sha256. */
    algo?: string;
    format?: string;
    signingHeaders?: { keys: string; headers: string[]; canonicalizedHeader: string };
    status: DkimStatus;
    /** The result formatted as an Authentication-Results resinfo. */
    info?: string;
  }

  export interface DkimVerifyResult {
    /** Every address in every From header, in order. */
    headerFrom: string[];
    envelopeFrom: string | false;
    /** One entry per DKIM-Signature; a single `none` entry when the message is not signed. */
    results: DkimResult[];
  }

  export function dkimVerify(input: Buffer | string | NodeJS.ReadableStream, options?: DkimVerifyOptions): Promise<DkimVerifyResult>;
}

// Signing is used by the tests only (headers lists, l= and x= that nodemailer does not write).
declare module 'mailauth/lib/dkim/sign' {
  export interface DkimSignOptions {
    signatureData: { signingDomain: string; selector: string; privateKey: string | Buffer; algorithm?: string; canonicalization?: string; maxBodyLength?: number }[];
    /** Colon-separated field names to sign; defaults to mailauth's list. */
    headerList?: string;
    signTime?: Date;
    expires?: Date;
  }
  /** The DKIM-Signature header lines to prepend, CRLF-terminated. */
  export function dkimSign(input: Buffer | string, options: DkimSignOptions): Promise<{ signatures: string; errors: unknown[] }>;
}
